"""Shared helpers for intake HTTP tests."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import Org

FIXTURES = Path(__file__).parent / "fixtures"
# Typeform question refs to canonical fields, as a practice would map its form.
TYPEFORM_MAPPING = {
    "first_name": "first_name",
    "last_name": "last_name",
    "email": "email",
    "phone": "phone",
    "zip": "postal_code",
    "service": "service.text",
    "dob": "date_of_birth",
    "new_patient": "new_patient",
    "tcpa_consent": "consent.checked",
}


def api_lead(**overrides: Any) -> dict[str, Any]:
    lead: dict[str, Any] = copy.deepcopy(json.loads((FIXTURES / "api_lead.json").read_text()))
    lead.update(overrides)
    return lead


def person(n: int, **overrides: Any) -> dict[str, Any]:
    """A distinct person (phone and email differ by n)."""
    return api_lead(
        phone=f"+1 312-555-{n % 10000:04d}",
        email=f"person{n}@example.com",
        external_id=f"p-{n}",
        **overrides,
    )


async def post_lead(
    client: httpx.AsyncClient, org: Org, body: dict[str, Any], **headers: str
) -> httpx.Response:
    return await client.post("/v1/leads", json=body, headers={**org.headers, **headers})


async def create_source(
    client: httpx.AsyncClient, org: Org, kind: str, settings: dict[str, Any], **extra: Any
) -> dict[str, Any]:
    r = await client.post(
        "/v1/sources",
        json={"kind": kind, "name": f"{kind} source", "settings": settings, **extra},
        headers=org.headers,
    )
    assert r.status_code == 201, r.text
    return dict(r.json())
