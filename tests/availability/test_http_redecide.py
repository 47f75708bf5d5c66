"""Re-deciding a lead when its facts or its service's availability change, through HTTP."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app import worker
from tests.availability.helpers import (
    demo,
    post_bundle,
    schedule,
    sleep_lead,
    slot,
    stock,
    tomorrow_at,
)
from tests.conftest import Org
from tests.intake.helpers import person, post_lead


async def _patch(client: httpx.AsyncClient, org: Org, lead_id: str, body: dict[str, Any]) -> Any:
    r = await client.patch(f"/v1/leads/{lead_id}/facts", json=body, headers=org.headers)
    assert r.status_code == 200, r.text
    return r.json()


async def _lead(client: httpx.AsyncClient, org: Org, lead_id: str) -> Any:
    return (await client.get(f"/v1/leads/{lead_id}", headers=org.headers)).json()


async def test_corrected_facts_re_score_and_re_route_a_lead_nobody_has_reached(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    locs = await demo(client, org, session)
    await stock(client, org, locs)
    # Sent as knee pain from Forest Park: orthopedics (no schedules), the nearest location.
    first = (await post_lead(client, org, person(1, postal_code="60130"))).json()
    assert first["service_code"] == "orthopedics" and first["location_id"] == locs["near"]
    assert first["offered_slots"] == []

    # The call reveals a sleep study: the earliest free slot is at Naperville.
    answer = await _patch(client, org, first["lead_id"], {"service_code": "sleep-medicine"})
    assert answer["rerouted"] is True
    assert answer["location_id"] == locs["far"]
    assert [s["id"] for s in answer["offered_slots"]] == ["far-1", "far-2", "far-3"]
    teams = {
        t["id"]: t["name"]
        for t in (await client.get("/v1/teams", headers=org.headers)).json()["data"]
    }
    assert teams[answer["team_id"]] == "Sleep-medicine coordinator"

    trace = (await _lead(client, org, first["lead_id"]))["routing"]["trace"]
    [previous] = trace["previous"]
    assert previous["team_id"] == first["team_id"] and previous["location_id"] == locs["near"]
    assert "trace" not in previous["trace"] and previous["trace"]["teams"]
    assert trace["reason"] == "facts changed: service_code"
    assert trace["location_choice"]["chosen_location_id"] == locs["far"]

    # Nothing moved: re-scored, not routed again.
    same = await _patch(client, org, first["lead_id"], {})
    assert same["rerouted"] is False and same["team_id"] == answer["team_id"]


async def test_a_contacted_lead_is_re_scored_but_keeps_its_member(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    locs = await demo(client, org, session)
    await stock(client, org, locs)
    first = (await post_lead(client, org, person(1, postal_code="60130"))).json()
    started = dt.datetime.now(dt.UTC).isoformat()
    r = await client.post(
        f"/v1/leads/{first['lead_id']}/contact-attempts",
        json={"channel": "voice", "outcome": "connected", "started_at": started},
        headers=org.headers,
    )
    assert r.status_code == 201, r.text

    answer = await _patch(client, org, first["lead_id"], {"service_code": "sleep-medicine"})
    assert answer["rerouted"] is False
    assert answer["location_id"] == locs["far"]  # re-scored
    assert (answer["team_id"], answer["member_id"]) == (first["team_id"], first["member_id"])
    trace = (await _lead(client, org, first["lead_id"]))["routing"]["trace"]
    assert "the member keeps the lead" in trace["kept_member"]
    assert trace["previous"][0]["member_id"] == first["member_id"]


async def test_new_free_slots_re_decide_a_waiting_lead_that_had_none(
    client: httpx.AsyncClient, org: Org, session: AsyncSession, engine: AsyncEngine
) -> None:
    locs = await demo(client, org, session)
    later = tomorrow_at(15) + dt.timedelta(days=40)
    await post_bundle(
        client, org, [schedule("sch-near", locs["near"]), schedule("sch-far", locs["far"]),
                      slot("near-40d", "sch-near", later)],
    )  # fmt: skip
    waiting = (await post_lead(client, org, sleep_lead(1))).json()
    assert waiting["flags"] == ["no_availability"]

    soon = tomorrow_at(16)
    r = await post_bundle(client, org, [slot("far-new", "sch-far", soon)])
    assert r.status_code == 200, r.text
    maker = async_sessionmaker(engine, expire_on_commit=False)
    # One job per write that brought free slots.
    assert await worker.run_once(maker, kinds=["availability.redecide"]) == 2

    lead = await _lead(client, org, waiting["lead_id"])
    assert lead["assessment"]["location_id"] == locs["far"]
    assert lead["assessment"]["availability"]["no_availability"] is False
    assert lead["routing"]["trace"]["reason"] == "new availability"
    packet = (await client.get(f"/v1/handoffs/{waiting['lead_id']}", headers=org.headers)).json()
    assert [s["id"] for s in packet["offered_slots"]] == ["far-new"]
