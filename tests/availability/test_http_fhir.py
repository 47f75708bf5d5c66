"""Schedules and slots in: FHIR R4 PUT and Bundles, canonical JSON, holds, the offer's reach."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.availability.helpers import (
    FHIR,
    bundle,
    demo,
    iso,
    post_bundle,
    schedule,
    sleep_lead,
    slot,
    stock,
    tomorrow_at,
)
from tests.conftest import Org
from tests.intake.helpers import post_lead
from tests.outreach.helpers import key_with


async def _put(client: httpx.AsyncClient, org: Org, resource: dict[str, Any]) -> httpx.Response:
    path = f"/v1/fhir/{resource['resourceType']}/{resource['id']}"
    return await client.put(path, json=resource, headers={**org.headers, **FHIR})


async def test_put_schedule_and_slot_are_idempotent_and_ordered_by_meta(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    locs = await demo(client, org, session)
    start = tomorrow_at(14)
    r = await _put(client, org, schedule("s-1", locs["far"]))
    assert r.status_code == 201 and r.headers["content-type"].startswith("application/fhir+json")
    assert r.json()["actor"][0]["reference"] == f"Location/{locs['far']}"

    v2 = slot("x-1", "s-1", start, meta={"versionId": "2"})
    r = await _put(client, org, v2)
    assert r.status_code == 201, r.text
    assert (r.json()["status"], r.json()["meta"]["versionId"]) == ("free", "2")
    again = await _put(client, org, v2)
    assert again.status_code == 200 and again.json() == r.json()  # a replay changes nothing
    older = await _put(client, org, {**v2, "status": "busy", "meta": {"versionId": "1"}})
    assert older.status_code == 200 and older.json()["status"] == "free"
    newer = await _put(client, org, {**v2, "status": "busy", "meta": {"versionId": "3"}})
    assert newer.json()["status"] == "busy"
    read = await client.get("/v1/fhir/Slot/x-1", headers=org.headers)
    assert (
        read.json()["status"] == "busy" and read.json()["schedule"]["reference"] == "Schedule/s-1"
    )


async def test_invalid_resources_answer_an_operation_outcome_with_fhir_paths(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    locs = await demo(client, org, session)
    bad = slot("x-1", "s-1", tomorrow_at(9))
    bad.pop("start")
    bad["status"] = "open"
    r = await _put(client, org, bad)
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/fhir+json")
    outcome = r.json()
    assert outcome["resourceType"] == "OperationOutcome"
    paths = sorted(i["expression"][0] for i in outcome["issue"])
    assert paths == ["Slot.start", "Slot.status"]
    assert "Mrs Example" not in r.text  # the free-text comment is never echoed

    r = await _put(client, org, schedule("s-x", "not-ours"))
    assert r.status_code == 422
    assert r.json()["issue"][0]["expression"] == ["Schedule.actor"]

    # A transaction with one bad entry stores nothing.
    resources = [schedule("s-1", locs["far"]), slot("x-2", "s-1", tomorrow_at(9)),
                 {**slot("x-3", "s-1", tomorrow_at(10)), "end": iso(tomorrow_at(9))}]  # fmt: skip
    r = await post_bundle(client, org, resources)
    assert r.status_code == 422
    [issue] = r.json()["issue"]
    assert issue["expression"] == ["Bundle.entry[2].resource.end"]
    assert (await client.get("/v1/fhir/Slot/x-2", headers=org.headers)).status_code == 404

    # A batch answers each entry on its own and stores the valid ones.
    r = await post_bundle(client, org, resources, kind="batch")
    assert r.status_code == 200 and r.json()["type"] == "batch-response"
    statuses = [e["response"]["status"] for e in r.json()["entry"]]
    assert statuses == ["201 Created", "201 Created", "422 Unprocessable Entity"]
    assert r.json()["entry"][2]["response"]["outcome"]["resourceType"] == "OperationOutcome"
    assert (await client.get("/v1/fhir/Slot/x-2", headers=org.headers)).status_code == 200

    r = await client.post(
        "/v1/fhir", json={"resourceType": "Bundle", "type": "collection"},
        headers={**org.headers, **FHIR},
    )  # fmt: skip
    assert r.status_code == 422 and r.json()["issue"][0]["expression"] == ["Bundle.type"]


async def test_scopes_content_type_and_the_bundle_body_limit(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    locs = await demo(client, org, session)
    sched = schedule("s-1", locs["far"])
    reader = await key_with(client, org, "leads:read")
    assert (await _put(client, reader, sched)).status_code == 403
    for scope in ("availability:write", "outcomes:write"):
        writer = await key_with(client, org, scope)
        assert (await _put(client, writer, sched)).status_code in (200, 201)
    r = await client.put(
        "/v1/fhir/Schedule/s-1",
        content=b"<Schedule/>",
        headers={**org.headers, "Content-Type": "application/xml"},
    )
    assert r.status_code == 415

    # Bigger than the 1 MiB limit of other routes, well within the Bundle's 16 MiB.
    start = tomorrow_at(8)
    slots = [slot(f"b-{i}", "s-1", start + dt.timedelta(minutes=15 * i)) for i in range(6000)]
    body = bundle([sched, *slots])
    r = await client.post("/v1/fhir", json=body, headers={**org.headers, **FHIR})
    assert r.status_code == 200, r.text[:300]
    assert len(r.json()["entry"]) == 6001
    r = await client.put(
        "/v1/fhir/Schedule/s-1", content=b"{" + b" " * (2 * 1024 * 1024) + b"}",
        headers={**org.headers, **FHIR},
    )  # fmt: skip
    assert r.status_code == 413


async def test_canonical_slots_for_schedulers_without_fhir(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    locs = await demo(client, org, session)
    start = tomorrow_at(15)
    slots = [
        {"id": "c-1", "location_id": locs["far"], "service": "sleep-medicine",
         "start": iso(start), "end": iso(start + dt.timedelta(minutes=45)), "version": "1"},
        {"id": "c-2", "location_id": locs["far"], "service": "sleep-medicine",
         "start": iso(start + dt.timedelta(hours=1)), "end": iso(start + dt.timedelta(hours=2))},
    ]  # fmt: skip
    r = await client.put("/v1/availability", json={"slots": slots}, headers=org.headers)
    assert r.status_code == 200, r.text
    assert r.json()["counts"] == {"created": 2}
    again = await client.put("/v1/availability", json={"slots": slots}, headers=org.headers)
    assert again.json()["counts"] == {"unchanged": 2}
    answer = (await post_lead(client, org, sleep_lead(1))).json()
    assert [s["id"] for s in answer["offered_slots"]] == ["c-1", "c-2"]

    bad = [{**slots[0], "service": "dentistry"}]
    r = await client.put("/v1/availability", json={"slots": bad}, headers=org.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "slots.0.service"


async def test_new_patients_are_offered_only_new_patient_slot_types(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    locs = await demo(client, org, session)
    services = (await client.get("/v1/services", headers=org.headers)).json()["data"]
    sleep = next(s for s in services if s["code"] == "sleep-medicine")
    r = await client.patch(
        f"/v1/services/{sleep['id']}", json={"new_patient_slot_types": ["NEW"]},
        headers=org.headers,
    )  # fmt: skip
    assert r.status_code == 200, r.text
    start = tomorrow_at(15)
    followup = {"appointmentType": {"coding": [{"code": "FOLLOWUP"}]}}
    new = {"appointmentType": {"coding": [{"code": "NEW"}]}}
    await post_bundle(client, org, [
        schedule("s-far", locs["far"]),
        slot("f-1", "s-far", start, **followup),
        slot("n-1", "s-far", start + dt.timedelta(days=3), **new),
    ])  # fmt: skip
    fresh = (await post_lead(client, org, sleep_lead(1))).json()
    assert [s["id"] for s in fresh["offered_slots"]] == ["n-1"]
    known = (await post_lead(client, org, sleep_lead(2, new_patient=False))).json()
    assert [s["id"] for s in known["offered_slots"]] == ["f-1", "n-1"]


async def test_a_hold_keeps_a_slot_from_the_next_caller_until_it_lapses(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    locs = await demo(client, org, session)
    await stock(client, org, locs)
    first = (await post_lead(client, org, sleep_lead(1))).json()
    r = await client.post(
        f"/v1/leads/{first['lead_id']}/slot-holds", json={"slot_id": "far-1", "minutes": 5},
        headers=org.headers,
    )  # fmt: skip
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "busy-tentative"
    assert (await client.get("/v1/fhir/Slot/far-1", headers=org.headers)).json()["status"] == (
        "busy-tentative"
    )
    second = (await post_lead(client, org, sleep_lead(2))).json()
    assert [s["id"] for s in second["offered_slots"]] == ["far-2", "far-3", "far-4"]
    taken = await client.post(
        f"/v1/leads/{second['lead_id']}/slot-holds", json={"slot_id": "far-1"}, headers=org.headers
    )
    assert taken.status_code == 409
    # The holder still sees its slot first.
    packet = (await client.get(f"/v1/handoffs/{first['lead_id']}", headers=org.headers)).json()
    assert packet["offered_slots"][0]["id"] == "far-1"

    await session.execute(
        text(
            "UPDATE availability_slots SET held_until = now() - interval '1 second' "
            "WHERE external_id = 'far-1'"
        )
    )
    await session.commit()
    third = (await post_lead(client, org, sleep_lead(3))).json()
    assert third["offered_slots"][0]["id"] == "far-1"  # the lapsed hold released it


async def test_the_routed_event_and_the_claim_answer_carry_the_offer(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    locs = await demo(client, org, session)
    await stock(client, org, locs)
    answer = (await post_lead(client, org, sleep_lead(1))).json()
    timeline = (
        await client.get(f"/v1/leads/{answer['lead_id']}/timeline", headers=org.headers)
    ).json()
    [routed] = [e for e in timeline["events"] if e["type"] == "lead.routed"]
    assert [s["id"] for s in routed["data"]["offered_slots"]] == ["far-1", "far-2", "far-3"]

    claim = await client.post(
        "/v1/handoffs/claim", json={"member_id": answer["member_id"]}, headers=org.headers
    )
    assert claim.status_code == 200, claim.text
    assert claim.json()["lead_id"] == answer["lead_id"]
    assert [s["id"] for s in claim.json()["offered_slots"]] == ["far-1", "far-2", "far-3"]
