"""A two-location orthopedics and sleep-medicine practice, set up through the HTTP API."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import Org

ORTHO = {
    "code": "orthopedics",
    "name": "Orthopedics",
    "synonyms": ["knee pain", "torn acl", "hip pain", "back pain", "fracture", "knee"],
    "urgency_phrases": ["can't walk"],
    "red_flag_phrases": ["bone sticking out"],
}
SLEEP = {
    "code": "sleep-medicine",
    "name": "Sleep Medicine",
    "synonyms": ["snoring", "sleep apnea", "insomnia", "cpap"],
    "urgency_phrases": ["fell asleep driving"],
}
STREETERVILLE = {
    "name": "Streeterville",
    "address": "680 N Lake Shore Dr",
    "postal_code": "60611",
    "hours": {d: [["08:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
    | {"sat": [["08:00", "12:00"]]},
    "holidays": ["2026-12-25"],
    "services": ["orthopedics", "sleep-medicine"],
    "languages": ["en", "es"],
    "insurance_plans": ["Aetna", "Blue Cross Blue Shield", "Medicare", "UnitedHealthcare"],
    "min_age": 18,
    "service_radius_miles": 12,
}
NAPERVILLE = {
    "name": "Naperville",
    "postal_code": "60540",
    "hours": {d: [["08:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")},
    "services": ["orthopedics", "sleep-medicine"],
    "languages": ["en", "es"],
    "insurance_plans": ["Aetna", "Blue Cross Blue Shield", "Cigna"],
    "service_radius_miles": 15,
}


async def post(client: httpx.AsyncClient, org: Org, path: str, body: Any) -> dict[str, Any]:
    r = await client.post(path, json=body, headers=org.headers)
    assert r.status_code == 201, r.text
    return dict(r.json())


async def setup_practice(client: httpx.AsyncClient, org: Org) -> dict[str, Any]:
    """Services first (locations name them by code); returns the created objects by key."""
    return {
        "ortho": await post(client, org, "/v1/services", ORTHO),
        "sleep": await post(client, org, "/v1/services", SLEEP),
        "a": await post(client, org, "/v1/locations", STREETERVILLE),
        "b": await post(client, org, "/v1/locations", NAPERVILLE),
    }
