"""Erasing one lead over HTTP: nothing of the person is left anywhere in the database,
past reports give the same figures, consent evidence and the suppression list stay."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import Org
from tests.outreach.helpers import key_with
from tests.practice.helpers import setup_practice
from tests.privacy.helpers import Person, deliver, webhook_source
from tests.privacy.scan import dump_text, findings

# Consent evidence is kept under its legal hold (TSR: 5 years) with the number consented.
LEGAL_HOLD = frozenset({"consent_events"})


AS_OF = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).replace(microsecond=0).isoformat()


async def _funnel(client: httpx.AsyncClient, org: Org, day: dt.date) -> dict[str, Any]:
    r = await client.get(
        "/v1/reports/funnel",
        params={
            "from": (day - dt.timedelta(days=1)).isoformat(),
            "to": (day + dt.timedelta(days=1)).isoformat(),
            "group_by": "source",
            "as_of": AS_OF,
        },
        headers=org.headers,
    )
    assert r.status_code == 200, r.text
    return dict(r.json())


async def _history(client: httpx.AsyncClient, org: Org, lead_id: str, who: Person) -> None:
    """Contact attempts with notes and an appointment, as a practice would record them."""
    for body in (
        {"channel": "voice", "direction": "inbound", "outcome": "connected",
         "notes": f"{who.first} asked about {who.reason}"},
        {"channel": "sms", "outcome": "sms_sent", "notes": f"texted {who.phone}",
         "override_reason": f"{who.last} asked us to text"},
    ):  # fmt: skip
        r = await client.post(
            f"/v1/leads/{lead_id}/contact-attempts", json=body, headers=org.headers
        )
        assert r.status_code == 201, r.text
    start = (dt.datetime.now(dt.UTC) + dt.timedelta(days=3)).replace(microsecond=0)
    appt = {
        "external_id": f"MRN-{who.email}",
        "status": "booked",
        "provider": "dr-7",
        "service": "ortho-knee",
        "start": start.isoformat(),
        "end": (start + dt.timedelta(minutes=30)).isoformat(),
        "updated_at": dt.datetime.now(dt.UTC).isoformat(),
    }
    r = await client.post(f"/v1/leads/{lead_id}/appointments", json=appt, headers=org.headers)
    assert r.status_code == 201, r.text


async def test_erased_lead_leaves_no_personal_data_and_reports_do_not_move(
    client: httpx.AsyncClient,
    org: Org,
    engine: AsyncEngine,
    database_url: str,
) -> None:
    who = Person.new()
    # a configured practice: the lead is scored and qualified, its assessment quotes it
    await setup_practice(client, org)
    r = await client.post(
        "/v1/webhook-subscriptions",
        json={"url": "http://127.0.0.1:9/hook", "event_types": ["lead.erased"]},
        headers=org.headers,
    )
    assert r.status_code == 201, r.text
    path, secret = await webhook_source(client, org)
    r = await deliver(client, path, secret, who.lead())
    assert r.status_code == 200, r.text
    lead_id = r.json()["leads"][0]["lead_id"]
    # a second submission of the same person, through the JSON API
    r = await client.post("/v1/leads", json=who.lead(external_id="again"), headers=org.headers)
    assert r.status_code == 200 and r.json()["resubmission"] is True, r.text
    assert r.json()["lead_id"] == lead_id
    await _history(client, org, lead_id, who)
    r = await client.post(
        "/v1/consent/revocations",
        json={"phone": who.phone, "channel": "sms", "via": "sms_reply"},
        headers=org.headers,
    )
    assert r.status_code == 201, r.text

    before = await client.get(f"/v1/leads/{lead_id}", headers=org.headers)
    day = dt.datetime.fromisoformat(before.json()["received_at"]).date()
    funnel_before = await _funnel(client, org, day)
    how, dump = await dump_text(engine, database_url)
    seen = {(f.table, f.encrypted) for f in findings(dump, who.needles, skip=LEGAL_HOLD)}
    # the scan finds the person where they are kept, encrypted, before the erasure
    assert {("leads", True), ("lead_submissions", True), ("inbox_deliveries", True),
            ("contact_attempts", True)} <= seen, (how, seen)  # fmt: skip

    # a key without `leads:erase` may not erase
    reader = await key_with(client, org, "leads:read")
    assert (await client.delete(f"/v1/leads/{lead_id}", headers=reader.headers)).status_code == 403
    eraser = await key_with(client, org, "leads:erase")
    r = await client.delete(f"/v1/leads/{lead_id}", headers=eraser.headers)
    assert r.status_code == 200, r.text
    erased = r.json()
    assert erased["erased_at"] and erased["contact"] == {}
    assert erased["request"]["reason"] is None and erased["external_id"] is None

    # nothing of the person anywhere but the consent evidence under its legal hold
    how, dump = await dump_text(engine, database_url)
    assert findings(dump, who.needles, skip=LEGAL_HOLD) == [], how
    assert f"MRN-{who.email}" not in dump

    # the lead answers its decisions and erased_at
    got = (await client.get(f"/v1/leads/{lead_id}", headers=org.headers)).json()
    assert got["erased_at"] == erased["erased_at"] and got["contact"] == {}
    assert got["status"] == before.json()["status"]
    assert got["assessment"]["service_code"] == before.json()["assessment"]["service_code"]
    assert got["assessment"]["service_code"] == "orthopedics"
    assert got["assessment"]["qualified"] == before.json()["assessment"]["qualified"]
    assert "urgency_evidence" not in got["assessment"] and "inputs" not in got["assessment"]
    assert got["routing"]["team_id"] == before.json()["routing"]["team_id"]
    assert got["location_facts"]["zip3"] == "606"
    assert got["location_facts"]["postal_code"] is None  # it was kept in the encrypted document
    assert all(s["external_id"] is None for s in got["submissions"])

    # reports for the lead's period give the same figures
    assert await _funnel(client, org, day) == funnel_before

    # consent evidence stays, and still says what was consented
    consent = (await client.get(f"/v1/leads/{lead_id}/consent", headers=org.headers)).json()
    assert consent["events"] and consent["disclosures"]
    assert any(e["evidence"].get("phone") == who.phone for e in consent["events"])

    # the raw deliveries are listed without their bodies, and cannot be replayed
    inbox = (await client.get("/v1/inbox", headers=org.headers)).json()["data"]
    assert inbox and all(d["body_dropped_at"] for d in inbox)

    # the erasure is published and on the timeline; erasing again changes nothing
    r = await client.get("/v1/webhook-deliveries", headers=org.headers)
    assert [d["event_type"] for d in r.json()["data"]] == ["lead.erased"]
    again = await client.delete(f"/v1/leads/{lead_id}", headers=eraser.headers)
    assert again.status_code == 200 and again.json()["erased_at"] == erased["erased_at"]
    timeline = (await client.get(f"/v1/leads/{lead_id}/timeline", headers=org.headers)).json()
    assert [e["type"] for e in timeline["events"]].count("lead.erased") == 1

    # the suppression list outlives the lead: the same phone comes back suppressed for SMS
    r = await client.post("/v1/leads", json=Person.lead(who), headers=org.headers)
    assert r.status_code == 201, r.text
    assert r.json()["lead_id"] != lead_id
    assert r.json()["consent"]["channels"]["sms"] == "suppressed"


async def test_erasure_needs_the_scope_and_respects_tenancy(
    client: httpx.AsyncClient, org: Org, other_org: Org
) -> None:
    r = await client.post("/v1/leads", json=Person.new().lead(), headers=org.headers)
    lead_id = r.json()["lead_id"]
    assert (await client.delete(f"/v1/leads/{lead_id}", headers=other_org.headers)).status_code == (
        404
    )
    assert (await client.delete(f"/v1/leads/{lead_id}")).status_code == 401
    assert (await client.get(f"/v1/leads/{lead_id}", headers=org.headers)).json()["erased_at"] is (
        None
    )
