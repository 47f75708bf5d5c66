"""FHIR availability payloads for the demo practice's two locations."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from app.demo import practice as practice_demo
from app.demo import routing as routing_demo
from tests.conftest import Org
from tests.intake.helpers import person

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


async def demo(client: httpx.AsyncClient, org: Org, session: AsyncSession) -> dict[str, str]:
    await practice_demo.seed(session, org.id)
    await routing_demo.seed(session, org.id)
    await session.commit()
    # Open around the clock: these tests are about slots, and the demo's opening hours (and
    # holidays) would otherwise send a lead to the after-hours team depending on when the
    # suite runs.
    teams = (await client.get("/v1/teams", headers=org.headers, params={"limit": 100})).json()
    for team in teams["data"]:
        r = await client.patch(
            f"/v1/teams/{team['id']}", json={"hours": None, "holidays": []}, headers=org.headers
        )
        assert r.status_code == 200, r.text
    locations = (await client.get("/v1/locations", headers=org.headers)).json()["data"]
    by_name = {loc["name"]: loc["id"] for loc in locations}
    return {"near": by_name["Lakeshore Streeterville"], "far": by_name["Lakeshore Naperville"]}


def period(**extra: str) -> dict[str, str]:
    today = dt.date.today()
    days = {"from": str(today - dt.timedelta(days=2)), "to": str(today + dt.timedelta(days=2))}
    return {**days, "group_by": "availability", **extra}


def sleep_lead(n: int, **extra: Any) -> dict[str, Any]:
    # Forest Park: 9.8 miles from Streeterville, 18.6 from Naperville (inside both areas).
    return person(
        n,
        postal_code="60130",
        service={"text": "I need a sleep study"},
        reason="Loud snoring, my partner says I stop breathing.",
        urgency="routine",
        **extra,
    )


async def stock(client: httpx.AsyncClient, org: Org, locs: dict[str, str]) -> dt.datetime:
    """Streeterville (nearest) is free in 30 days, Naperville tomorrow and the day after."""
    now = dt.datetime.now(dt.UTC)
    tomorrow = tomorrow_at(15, now)
    resources = [
        schedule("sch-near", locs["near"]),
        schedule("sch-far", locs["far"]),
        slot("near-30d", "sch-near", tomorrow + dt.timedelta(days=29)),
        slot("far-1", "sch-far", tomorrow),
        slot("far-2", "sch-far", tomorrow + dt.timedelta(hours=1)),
        slot("far-3", "sch-far", tomorrow + dt.timedelta(days=1)),
        slot("far-4", "sch-far", tomorrow + dt.timedelta(days=2)),
        slot("far-busy", "sch-far", tomorrow - dt.timedelta(hours=2), status="busy"),
    ]
    r = await post_bundle(client, org, resources)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/fhir+json")
    body = r.json()
    assert body["resourceType"] == "Bundle" and body["type"] == "transaction-response"
    assert [e["response"]["status"] for e in body["entry"]] == ["201 Created"] * len(resources)
    assert body["entry"][2]["response"]["location"] == "Slot/near-30d/_history/1"
    return tomorrow
