"""Availability-aware routing through HTTP, on the demo practice and its routing rules."""

from __future__ import annotations

import datetime as dt
import uuid

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.availability import queries
from tests.availability.helpers import (
    FHIR,
    demo,
    period,
    post_bundle,
    schedule,
    sleep_lead,
    slot,
    stock,
    tomorrow_at,
)
from tests.conftest import Org
from tests.intake.helpers import person, post_lead


async def test_a_sleep_lead_goes_where_the_first_free_slot_is_and_is_offered_it(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    locs = await demo(client, org, session)
    tomorrow = await stock(client, org, locs)

    answer = (await post_lead(client, org, sleep_lead(1))).json()
    assert answer["service_code"] == "sleep-medicine"
    assert answer["location_id"] == locs["far"]
    assert answer["flags"] == []
    offered = answer["offered_slots"]
    assert [s["id"] for s in offered] == ["far-1", "far-2", "far-3"]
    assert offered[0]["start"] == tomorrow.isoformat().replace("+00:00", "Z")
    assert offered[0]["location_id"] == locs["far"]
    assert offered[0]["practitioner"] == "Practitioner/dr-sleep"
    assert offered[0]["service"] == "sleep-medicine"

    lead = (await client.get(f"/v1/leads/{answer['lead_id']}", headers=org.headers)).json()
    choice = lead["routing"]["trace"]["location_choice"]
    assert choice["chosen_location_id"] == locs["far"]
    assert "earliest free slot: Lakeshore Naperville" in choice["reason"]
    assert "nearest was Lakeshore Streeterville" in choice["reason"]
    considered = {c["location_id"]: c for c in choice["considered"]}
    assert [s["id"] for s in considered[locs["far"]]["slots"]] == ["far-1", "far-2", "far-3"]
    # The nearest's only slot is beyond the 21-day horizon: it offers nothing.
    assert considered[locs["near"]]["slots"] == []
    assert lead["assessment"]["location_match"]["method"] == "earliest_available"

    packet = (await client.get(f"/v1/handoffs/{answer['lead_id']}", headers=org.headers)).json()
    assert [s["id"] for s in packet["offered_slots"]] == ["far-1", "far-2", "far-3"]


async def test_booking_the_offered_slot_gives_the_next_lead_the_next_one(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    locs = await demo(client, org, session)
    tomorrow = await stock(client, org, locs)
    first = (await post_lead(client, org, sleep_lead(1))).json()
    appointment = {
        "resourceType": "Appointment",
        "status": "booked",
        "identifier": [{"value": "appt-1"}],
        "slot": [{"reference": "Slot/far-1"}],
        "start": first["offered_slots"][0]["start"],
        "end": first["offered_slots"][0]["end"],
        "participant": [{"actor": {"reference": f"Location/{locs['far']}"}, "status": "accepted"}],
    }
    r = await client.post(
        f"/v1/leads/{first['lead_id']}/appointments",
        json=appointment,
        headers={**org.headers, **FHIR},
    )
    assert r.status_code == 201, r.text
    read = (await client.get("/v1/fhir/Slot/far-1", headers=org.headers)).json()
    assert read["status"] == "busy"

    second = (await post_lead(client, org, sleep_lead(2))).json()
    assert second["location_id"] == locs["far"]
    assert [s["id"] for s in second["offered_slots"]] == ["far-2", "far-3", "far-4"]
    assert second["offered_slots"][0]["start"] == (
        tomorrow + dt.timedelta(hours=1)
    ).isoformat().replace("+00:00", "Z")
    # The first lead's packet is read fresh: its booked slot is no longer offered.
    packet = (await client.get(f"/v1/handoffs/{first['lead_id']}", headers=org.headers)).json()
    assert [s["id"] for s in packet["offered_slots"]] == ["far-2", "far-3", "far-4"]

    report = (
        await client.get("/v1/reports/availability", headers=org.headers, params=period())
    ).json()
    [row] = report["rows"]
    assert (row["service"], row["location_id"]) == ("sleep-medicine", locs["far"])
    assert (row["leads"], row["offered"], row["offered_booked"]) == (2, 2, 1)
    assert row["no_availability"] == 0 and 0 < row["median_days_to_first_slot"] < 2.5

    cancelled = {
        **appointment,
        "status": "cancelled",
        "cancelationReason": {"coding": [{"code": "pat"}]},
    }
    r = await client.post(
        f"/v1/leads/{first['lead_id']}/appointments",
        json=cancelled,
        headers={**org.headers, **FHIR},
    )
    assert r.status_code == 200, r.text
    read = (await client.get("/v1/fhir/Slot/far-1", headers=org.headers)).json()
    assert read["status"] == "free"


async def test_no_slot_within_the_horizon_is_routed_flagged_and_counted_in_drop_off(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    locs = await demo(client, org, session)
    later = tomorrow_at(15) + dt.timedelta(days=40)
    r = await post_bundle(
        client,
        org,
        [
            schedule("sch-near", locs["near"]),
            schedule("sch-far", locs["far"]),
            slot("near-40d", "sch-near", later),
            slot("far-40d", "sch-far", later),
        ],
    )
    assert r.status_code == 200, r.text

    answer = (await post_lead(client, org, sleep_lead(1))).json()
    assert answer["flags"] == ["no_availability"]
    assert answer["offered_slots"] == []
    assert answer["team_id"] is not None and answer["routing_status"] in ("assigned", "queued")
    assert answer["location_id"] == locs["near"]  # nothing to gain elsewhere: the nearest
    lead = (await client.get(f"/v1/leads/{answer['lead_id']}", headers=org.headers)).json()
    assert lead["routing"]["trace"]["location_choice"]["no_availability"] is True

    # An orthopedics lead (no schedules for its service) is not flagged.
    ortho = (await post_lead(client, org, person(2, postal_code="60130"))).json()
    assert ortho["flags"] == []

    report = (await client.get("/v1/reports/drop-off", headers=org.headers, params=period())).json()
    assert report["total"]["no_slot_offered"] == 1
    keys = {row["key"]: row for row in report["rows"]}
    assert keys["no_availability"]["leads"] == 1
    assert keys["no_availability"]["no_slot_offered"] == 1

    funnel = (await client.get("/v1/reports/funnel", headers=org.headers, params=period())).json()
    groups = {row["key"]: row["leads"] for row in funnel["rows"]}
    assert groups == {"no_availability": 1, None: 1}


async def test_the_earliest_free_slots_are_one_index_range_scan_per_location(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    """The plan's shape, not its speed: the partial index serves the window and the order,
    so each location's scan stops after its first rows and nothing is sorted."""
    locs = await demo(client, org, session)
    await stock(client, org, locs)
    stmt = queries._free_stmt(False).stmt
    now = dt.datetime.now(dt.UTC)
    params = {
        "org": org.id,
        "service": "sleep-medicine",
        "locations": [uuid.UUID(v) for v in locs.values()],
        "now": now,
        "until": now + dt.timedelta(days=21),
        "lead": org.id,
        "per_location": 3,
    }
    # A few rows would be read by a sequential scan: ask for the plan a large table gets.
    await session.execute(text("SET LOCAL enable_seqscan = off"))
    await session.execute(text("SET LOCAL enable_bitmapscan = off"))
    compiled = str(stmt.compile())
    plan = [r[0] for r in await session.execute(text("EXPLAIN " + compiled), params)]
    scans = [line for line in plan if "Scan" in line and "availability_slots" in line]
    assert len(scans) == 1 and "Index Scan using ix_availability_slots_free" in scans[0], plan
    assert not any("Sort" in line for line in plan), plan
    conds = next(line for line in plan if "Index Cond" in line)
    assert "start >=" in conds and "start <" in conds and "location_id = l.id" in conds


async def test_nearest_preference_keeps_the_nearest_and_rules_read_time_to_first_slot(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    locs = await demo(client, org, session)
    await stock(client, org, locs)
    settings = (await client.get("/v1/scoring-settings", headers=org.headers)).json()
    body = {k: settings[k] for k in ("hot_threshold", "warm_threshold", "red_flag_phrases",
                                     "duplicate_window_hours")}  # fmt: skip
    r = await client.put(
        "/v1/scoring-settings", json={**body, "location_preference": "nearest"},
        headers=org.headers,
    )  # fmt: skip
    assert r.status_code == 200, r.text
    nearest = (await post_lead(client, org, sleep_lead(1))).json()
    assert nearest["location_id"] == locs["near"]
    # Another location has a slot: not flagged, but nothing to offer at the nearest.
    assert (nearest["flags"], nearest["offered_slots"]) == ([], [])

    await client.put("/v1/scoring-settings", json=body, headers=org.headers)
    teams = (await client.get("/v1/teams", headers=org.headers)).json()["data"]
    soon_team = next(t for t in teams if t["kind"] == "nurse_line")["id"]
    other = next(t for t in teams if t["kind"] == "front_desk")["id"]
    rules = [
        {"name": "seen within two days",
         "conditions": [{"field": "time_to_first_slot", "op": "lte", "value": 2}],
         "team_id": soon_team},
        {"name": "everyone else", "team_id": other},
    ]  # fmt: skip
    r = await client.post("/v1/routing/rulesets", json={"rules": rules}, headers=org.headers)
    assert r.status_code == 201, r.text
    r = await client.post(f"/v1/routing/rulesets/{r.json()['id']}/publish", headers=org.headers)
    assert r.status_code == 200, r.text
    fast = (await post_lead(client, org, sleep_lead(2))).json()
    assert fast["team_id"] == soon_team
    lead = (await client.get(f"/v1/leads/{fast['lead_id']}", headers=org.headers)).json()
    [matched] = [x for x in lead["routing"]["trace"]["rules"] if x["matched"]]
    assert 0 < matched["conditions"][0]["actual"] <= 2
    assert lead["assessment"]["flags"] == []
    assert lead["assessment"]["first_slot_at"] is not None
