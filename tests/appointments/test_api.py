"""Appointments over HTTP: FHIR and canonical input, ordering, transitions, lead status."""

from __future__ import annotations

import copy
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import service as auth_service
from app.auth.scopes import Scope
from app.outbox.models import WebhookMessage
from tests.appointments.test_fhir import BOOKED
from tests.conftest import Org
from tests.intake.helpers import person, post_lead

FHIR = {"content-type": "application/fhir+json"}


async def new_lead(client: httpx.AsyncClient, org: Org, n: int = 1) -> str:
    r = await post_lead(client, org, person(n))
    assert r.status_code == 201, r.text
    return str(r.json()["lead_id"])


def appointment(external: str, status: str, version: str, **changes: Any) -> dict[str, Any]:
    r = copy.deepcopy(BOOKED)
    r.pop("id")
    r["identifier"] = [{"value": external}]
    r["status"] = status
    r["meta"] = {"versionId": version}
    r.update(changes)
    return r


async def post_fhir(
    client: httpx.AsyncClient, org: Org, lead_id: str, body: dict[str, Any]
) -> httpx.Response:
    return await client.post(
        f"/v1/leads/{lead_id}/appointments", json=body, headers={**org.headers, **FHIR}
    )


async def put_fhir(
    client: httpx.AsyncClient, org: Org, appt_id: str, body: dict[str, Any]
) -> httpx.Response:
    return await client.put(
        f"/v1/fhir/Appointment/{appt_id}", json=body, headers={**org.headers, **FHIR}
    )


async def lead_status(client: httpx.AsyncClient, org: Org, lead_id: str) -> str:
    return str((await client.get(f"/v1/leads/{lead_id}", headers=org.headers)).json()["status"])


async def test_booked_noshow_then_new_fulfilled_completes_the_lead(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    lead_id = await new_lead(client, org)
    r = await post_fhir(client, org, lead_id, appointment("A-100", "booked", "1"))
    assert r.status_code == 201, r.text
    assert r.headers["content-type"].startswith("application/fhir+json")
    first = r.json()
    assert first["resourceType"] == "Appointment" and first["status"] == "booked"
    assert await lead_status(client, org, lead_id) == "booked"

    r = await put_fhir(client, org, first["id"], appointment("A-100", "noshow", "2"))
    assert r.status_code == 200 and r.json()["status"] == "noshow"
    assert await lead_status(client, org, lead_id) == "no_show"

    # The rebooking is a new appointment on the same lead.
    r = await post_fhir(client, org, lead_id, appointment("A-101", "booked", "1"))
    assert r.status_code == 201
    second = r.json()
    assert await lead_status(client, org, lead_id) == "booked"
    r = await put_fhir(client, org, second["id"], appointment("A-101", "fulfilled", "2"))
    assert r.status_code == 200
    assert await lead_status(client, org, lead_id) == "completed"

    r = await put_fhir(client, org, second["id"], appointment("A-101", "booked", "3"))
    assert r.status_code == 409, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["type"].endswith("/appointment-transition")
    assert await lead_status(client, org, lead_id) == "completed"

    timeline = (await client.get(f"/v1/leads/{lead_id}/timeline", headers=org.headers)).json()
    assert timeline["status"] == "completed"
    types = [e["type"] for e in timeline["events"]]
    assert types[0] == "submission.received" and types[1] == "lead.received"
    no_shows = [e for e in timeline["events"] if e["data"].get("status") == "noshow"]
    assert len(no_shows) == 1 and no_shows[0]["type"] == "appointment.updated"
    assert types.count("appointment.booked") == 2
    at = [e["at"] for e in timeline["events"]]
    assert at == sorted(at)
    changes = [e["data"]["to"] for e in timeline["events"] if e["type"] == "lead.status_changed"]
    assert changes[-4:] == ["booked", "no_show", "booked", "completed"]

    # With no subscriber nothing goes to the outbox; the timeline above holds the events.
    outbox = (
        (
            await session.execute(
                select(WebhookMessage.event_type).where(WebhookMessage.organization_id == org.id)
            )
        )
        .scalars()
        .all()
    )
    assert outbox == []


async def test_older_versions_and_replays_change_nothing(
    client: httpx.AsyncClient, org: Org
) -> None:
    lead_id = await new_lead(client, org)
    body = appointment("A-200", "booked", "5")
    created = (await post_fhir(client, org, lead_id, body)).json()

    replay = await post_fhir(client, org, lead_id, body)
    assert replay.status_code == 200 and replay.json()["meta"]["versionId"] == "5"

    arrived = await put_fhir(client, org, created["id"], appointment("A-200", "arrived", "6"))
    assert arrived.json()["status"] == "arrived"
    # version 5 (booked) arrives late, by POST and by PUT: ignored, no 409
    for late in (
        await post_fhir(client, org, lead_id, body),
        await put_fhir(client, org, created["id"], body),
    ):
        assert late.status_code == 200 and late.json()["status"] == "arrived"
    listed = (await client.get(f"/v1/leads/{lead_id}/appointments", headers=org.headers)).json()
    assert len(listed["data"]) == 1 and listed["data"][0]["version"] == 2


async def test_canonical_json_and_patch_ordered_by_event_time(
    client: httpx.AsyncClient, org: Org
) -> None:
    lead_id = await new_lead(client, org)
    body = {
        "external_id": "C-1",
        "status": "booked",
        "location": "loc-1",
        "provider": "dr-7",
        "service": "ortho-knee",
        "start": "2026-03-10T14:00:00-06:00",
        "end": "2026-03-10T14:30:00-06:00",
        "updated_at": "2026-03-01T10:00:00Z",
    }
    r = await client.post(f"/v1/leads/{lead_id}/appointments", json=body, headers=org.headers)
    assert r.status_code == 201 and r.json()["outcome"] == "created", r.text
    appt = r.json()
    assert appt["lead_status"] == "booked"

    url = f"/v1/appointments/{appt['id']}"
    cancel = {"status": "cancelled", "cancellation_reason": "pat",
              "updated_at": "2026-03-02T10:00:00Z"}  # fmt: skip
    r = await client.patch(url, json=cancel, headers=org.headers)
    assert r.json()["outcome"] == "updated" and r.json()["status"] == "cancelled"
    assert (await client.patch(url, json=cancel, headers=org.headers)).json()["outcome"] == (
        "unchanged"
    )
    late = {"status": "arrived", "updated_at": "2026-03-01T12:00:00Z"}
    r = await client.patch(url, json=late, headers=org.headers)
    assert r.status_code == 200 and r.json()["outcome"] == "ignored_older"
    r = await client.patch(url, json={"status": "booked"}, headers=org.headers)
    assert r.status_code == 409
    fhir_view = (await client.get(f"/v1/fhir/Appointment/{appt['id']}", headers=org.headers)).json()
    assert fhir_view["cancelationReason"]["coding"][0]["code"] == "pat"


async def test_invalid_input(client: httpx.AsyncClient, org: Org) -> None:
    lead_id = await new_lead(client, org)
    url = f"/v1/leads/{lead_id}/appointments"
    r = await client.post(url, json={"status": "booked", "score": 99}, headers=org.headers)
    assert r.status_code == 422  # unknown field and missing times
    r = await client.post(
        url, json={"status": "booked", "cancellation_reason": "pat"}, headers=org.headers
    )
    assert r.status_code == 422
    r = await client.post(url, content=b"status=booked", headers=org.headers)
    assert r.status_code == 415
    r = await client.post(url, content=b"{nope", headers={**org.headers, **FHIR})
    assert r.status_code == 400
    bad = appointment("A-1", "booked", "1", start="2026-03-10T14:00:00")
    r = await post_fhir(client, org, lead_id, bad)
    assert r.status_code == 422 and r.json()["type"].endswith("/fhir-validation")
    created = (await post_fhir(client, org, lead_id, appointment("A-1", "booked", "1"))).json()
    r = await put_fhir(
        client, org, created["id"], {**appointment("A-1", "arrived", "2"), "id": "x"}
    )
    assert r.status_code == 400


async def test_external_id_names_one_appointment_per_organisation(
    client: httpx.AsyncClient, org: Org
) -> None:
    a, b = await new_lead(client, org, 1), await new_lead(client, org, 2)
    assert (await post_fhir(client, org, a, appointment("X-1", "booked", "1"))).status_code == 201
    r = await post_fhir(client, org, b, appointment("X-1", "booked", "1"))
    assert r.status_code == 409


async def test_tenancy_and_scopes(
    client: httpx.AsyncClient, org: Org, other_org: Org, session: AsyncSession
) -> None:
    lead_id = await new_lead(client, org)
    created = (await post_fhir(client, org, lead_id, appointment("T-1", "booked", "1"))).json()
    theirs = other_org.headers
    assert (await post_fhir(client, other_org, lead_id, BOOKED)).status_code == 404
    for method, path in (
        ("GET", f"/v1/appointments/{created['id']}"),
        ("GET", f"/v1/fhir/Appointment/{created['id']}"),
        ("GET", f"/v1/leads/{lead_id}/timeline"),
        ("GET", f"/v1/leads/{lead_id}/appointments"),
    ):
        assert (await client.request(method, path, headers=theirs)).status_code == 404, path
    r = await client.patch(
        f"/v1/appointments/{created['id']}", json={"status": "arrived"}, headers=theirs
    )
    assert r.status_code == 404
    assert (await put_fhir(client, other_org, created["id"], BOOKED)).status_code == 404

    _, reader = await auth_service.create_key(session, org.id, "reader", [Scope.LEADS_READ])
    await session.commit()
    headers = {"Authorization": f"Bearer {reader}"}
    r = await client.post(
        f"/v1/leads/{lead_id}/appointments", json=BOOKED, headers={**headers, **FHIR}
    )
    assert r.status_code == 403
    assert (await client.get(f"/v1/leads/{lead_id}/timeline", headers=headers)).status_code == 200


async def test_idempotency_key_replays_the_stored_answer(
    client: httpx.AsyncClient, org: Org
) -> None:
    lead_id = await new_lead(client, org)
    headers = {**org.headers, **FHIR, "Idempotency-Key": "appt-1"}
    url = f"/v1/leads/{lead_id}/appointments"
    body = appointment("I-1", "booked", "1")
    first = await client.post(url, json=body, headers=headers)
    again = await client.post(url, json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    other = await client.post(url, json=appointment("I-2", "booked", "1"), headers=headers)
    assert other.status_code == 422


async def test_a_visit_is_not_fulfilled_before_it_starts(
    client: httpx.AsyncClient, org: Org
) -> None:
    """Neither as JSON nor as FHIR, neither on creation nor as a change: 422, nothing kept."""
    lead_id = await new_lead(client, org)
    later = {"start": "2099-03-10T14:00:00-06:00", "end": "2099-03-10T14:30:00-06:00"}
    url = f"/v1/leads/{lead_id}/appointments"

    def refused(r: httpx.Response) -> None:
        assert r.status_code == 422, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["type"].endswith("/appointment-not-started")

    refused(await client.post(url, json={"status": "fulfilled", **later}, headers=org.headers))
    refused(await post_fhir(client, org, lead_id, appointment("F-1", "fulfilled", "1", **later)))
    booked = await post_fhir(client, org, lead_id, appointment("F-2", "booked", "1", **later))
    assert booked.status_code == 201, booked.text
    appt_id = booked.json()["id"]
    refused(await put_fhir(client, org, appt_id, appointment("F-2", "fulfilled", "2", **later)))
    patch = await client.patch(
        f"/v1/appointments/{appt_id}", json={"status": "fulfilled"}, headers=org.headers
    )
    refused(patch)
    listed = (await client.get(url, headers=org.headers)).json()["data"]
    assert [a["status"] for a in listed] == ["booked"]
    assert await lead_status(client, org, lead_id) == "booked"
    # once it has started, it may be fulfilled
    begun = appointment("F-2", "fulfilled", "3", start="2026-03-10T14:00:00-06:00",
                        end="2026-03-10T14:30:00-06:00")  # fmt: skip
    assert (await put_fhir(client, org, appt_id, begun)).status_code == 200


async def test_the_fhir_answer_keeps_the_identifier_system_and_the_practitioner(
    client: httpx.AsyncClient, org: Org
) -> None:
    lead_id = await new_lead(client, org)
    ident = [{"system": "https://sched.example/appt", "value": "K-1"}]
    doctor = {
        "type": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
                              "code": "ATND"}]}],
        "actor": {"reference": "Practitioner/dr-7", "display": "Dr. Seven"},
        "required": "required",
        "status": "tentative",
    }  # fmt: skip
    others = [p for p in BOOKED["participant"] if "Practitioner/" not in str(p)]
    body = appointment("K-1", "booked", "1", identifier=ident, participant=[*others, doctor])

    def kept(answer: dict[str, Any]) -> None:
        assert answer["identifier"] == ident
        assert doctor in answer["participant"]

    created = await post_fhir(client, org, lead_id, body)
    assert created.status_code == 201, created.text
    kept(created.json())
    appt_id = created.json()["id"]
    kept((await client.get(f"/v1/fhir/Appointment/{appt_id}", headers=org.headers)).json())
    # a change sent as FHIR keeps them as sent again, the new participant status included
    doctor["status"] = "accepted"
    body = appointment("K-1", "booked", "2", identifier=ident, participant=[*others, doctor])
    changed = await put_fhir(client, org, appt_id, body)
    assert changed.status_code == 200, changed.text
    kept(changed.json())
    # without an identifier the PUT keeps the link to the sender's appointment, system too
    changed = await put_fhir(
        client, org, appt_id, {**body, "identifier": None, "meta": {"versionId": "3"}}
    )
    assert changed.status_code == 200, changed.text
    kept(changed.json())
    # a canonical change of the provider leaves the FHIR element it came with
    r = await client.patch(
        f"/v1/appointments/{appt_id}", json={"provider": "Practitioner/dr-9"}, headers=org.headers
    )
    assert r.status_code == 200, r.text
    read = (await client.get(f"/v1/fhir/Appointment/{appt_id}", headers=org.headers)).json()
    assert {"actor": {"reference": "Practitioner/dr-9"}, "status": "accepted"} in read[
        "participant"
    ]
    assert read["identifier"] == ident
