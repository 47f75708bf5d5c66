"""FHIR availability payloads for the demo practice's two locations."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx

from tests.conftest import Org

FHIR = {"Content-Type": "application/fhir+json"}
SLEEP = "sleep-medicine"


def iso(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def schedule(sid: str, location_id: str, service: str = SLEEP, **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Schedule",
        "id": sid,
        "active": True,
        "serviceType": [{"coding": [{"system": "https://sched.example/svc", "code": service}]}],
        "actor": [
            {"reference": f"Location/{location_id}"},
            {"reference": "Practitioner/dr-sleep"},
        ],
        **extra,
    }


def slot(
    sid: str, schedule_id: str, start: dt.datetime, minutes: int = 30, **extra: Any
) -> dict[str, Any]:
    return {
        "resourceType": "Slot",
        "id": sid,
        "schedule": {"reference": f"Schedule/{schedule_id}"},
        "status": "free",
        "start": iso(start),
        "end": iso(start + dt.timedelta(minutes=minutes)),
        "comment": "Mrs Example asked for mornings",
        **extra,
    }


def bundle(resources: list[dict[str, Any]], kind: str = "transaction") -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": kind,
        "entry": [
            {
                "resource": r,
                "request": {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"},
            }
            for r in resources
        ],
    }


async def post_bundle(
    client: httpx.AsyncClient, org: Org, resources: list[dict[str, Any]], kind: str = "transaction"
) -> httpx.Response:
    return await client.post(
        "/v1/fhir", json=bundle(resources, kind), headers={**org.headers, **FHIR}
    )


def tomorrow_at(hour: int, now: dt.datetime | None = None) -> dt.datetime:
    now = now or dt.datetime.now(dt.UTC)
    day = (now + dt.timedelta(days=1)).date()
    return dt.datetime.combine(day, dt.time(hour), tzinfo=dt.UTC)
