"""`POST /v1/leads/{id}/contact-attempts`: policy, idempotency, speed to lead, revocation."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import Org
from tests.consent.helpers import consent_of
from tests.outreach.helpers import (
    NIGHT,
    at,
    attempt,
    audit_actions,
    key_with,
    messages,
    old_lead,
    post_attempt,
    problem_type,
    subscribe_all,
)
from tests.routing.http_helpers import get_lead


async def test_first_attempt_sets_speed_to_lead_and_sends_a_thin_event(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    await subscribe_all(client, org)
    dialer = await key_with(client, org, "attempts:write")
    lead_id = await old_lead(client, org, session, 701)
    r = await post_attempt(
        client, dialer, lead_id, attempt("no_answer", at(16), notes="Spoke to her sister")
    )
    assert r.status_code == 201, r.text
    assert r.json()["outcome"] == "no_answer" and r.json()["policy_rule"] is None
    later = await post_attempt(client, dialer, lead_id, attempt("connected", at(17)))
    assert later.status_code == 201, later.text
    # an attempt reported late but made earlier moves speed to lead back
    early = await post_attempt(client, dialer, lead_id, attempt("busy", at(15)))
    assert early.status_code == 201, early.text

    lead = await get_lead(client, org, lead_id)
    assert lead["contact_summary"]["first_attempt_at"] == "2025-03-18T15:00:00Z"
    assert lead["contact_summary"]["first_connected_at"] == "2025-03-18T17:00:00Z"
    assert lead["status"] == "contacted"
    sent = await messages(session, org, "contact.attempted")
    assert [m["data"]["outcome"] for m in sent] == ["no_answer", "connected", "busy"]
    assert [m["data"]["first_attempt"] for m in sent] == [True, False, False]
    assert "Spoke" not in str(sent) and "notes" not in sent[0]["data"]
    listed = await client.get(f"/v1/leads/{lead_id}/contact-attempts", headers=org.headers)
    assert [a["started_at"] for a in listed.json()["data"]] == [at(15), at(16), at(17)]


async def test_same_external_id_and_body_answers_the_same(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    await subscribe_all(client, org)
    lead_id = await old_lead(client, org, session, 702)
    body = attempt("left_voicemail", external_id="five9-call-1")
    first = await post_attempt(client, org, lead_id, body)
    again = await post_attempt(client, org, lead_id, body)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    other = await post_attempt(client, org, lead_id, {**body, "outcome": "busy"})
    assert other.status_code == 409 and problem_type(other) == "attempt-id-reused"
    assert len(await messages(session, org, "contact.attempted")) == 1
    # without started_at the attempt is "now": a retry still matches its first try
    now_body = {"channel": "sms", "outcome": "sms_sent", "external_id": "sms-1",
                "override_reason": "the test may run at night"}  # fmt: skip
    first_sms = await post_attempt(client, org, lead_id, now_body)
    assert first_sms.status_code == 201, first_sms.text
    retry = await post_attempt(client, org, lead_id, now_body)
    assert retry.json() == first_sms.json()


async def test_policy_refusals_carry_the_rule_as_type(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    dialer = await key_with(client, org, "attempts:write")
    lead_id = await old_lead(client, org, session, 703)
    night = await post_attempt(client, dialer, lead_id, attempt(started_at=NIGHT))
    assert night.status_code == 422 and problem_type(night) == "calling-hours"
    assert night.json()["next_allowed_at"] == "2025-03-18T13:00:00+00:00"
    bare = await old_lead(client, org, session, 704, consent=None)
    r = await post_attempt(client, dialer, bare, attempt())
    assert r.status_code == 422 and problem_type(r) == "no-consent"
    r = await client.post(
        "/v1/consent/revocations",
        json={"lead_id": lead_id, "channel": "voice", "via": "call"},
        headers=org.headers,
    )
    assert r.status_code == 201, r.text
    r = await post_attempt(client, dialer, lead_id, attempt(started_at=at(16)))
    assert r.status_code == 422 and problem_type(r) == "revoked"
    # nothing refused was recorded
    listed = await client.get(f"/v1/leads/{lead_id}/contact-attempts", headers=org.headers)
    assert listed.json()["data"] == []


async def test_override_needs_admin_and_is_audited(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    dialer = await key_with(client, org, "attempts:write")
    lead_id = await old_lead(client, org, session, 705)
    body = attempt(started_at=NIGHT, override_reason="Patient asked us to call back tonight")
    refused = await post_attempt(client, dialer, lead_id, body)
    assert refused.status_code == 403
    ok = await post_attempt(client, org, lead_id, body)
    assert ok.status_code == 201, ok.text
    assert ok.json()["policy_rule"] == "calling-hours"
    assert "contact_attempt.override" in await audit_actions(session, org)
    details = await session.execute(
        text("SELECT details FROM audit_events WHERE action = 'contact_attempt.override'"
             " AND organization_id = :org"),
        {"org": org.id},
    )  # fmt: skip
    detail = details.scalar_one()
    assert detail["rules"] == ["calling-hours"] and "Patient" not in str(detail)


async def test_fourth_florida_call_in_24_hours_is_refused(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    lead_id = await old_lead(
        client, org, session, 706, postal_code="33101", phone="+1 305-555-0706"
    )
    for hour in (14, 15, 16):  # 10:00, 11:00, 12:00 in Miami
        r = await post_attempt(client, org, lead_id, attempt("no_answer", at(hour)))
        assert r.status_code == 201, r.text
    fourth = await post_attempt(client, org, lead_id, attempt("no_answer", at(17)))
    assert fourth.status_code == 422 and problem_type(fourth) == "attempt-cap"
    assert fourth.json()["next_allowed_at"] == "2025-03-19T14:00:00+00:00"
    # A text counts against Florida's cap too (Fla. Stat. 501.059(1)(j) defines a
    # telephonic sales call as a call, text message or voicemail transmission).
    sms = await post_attempt(client, org, lead_id, attempt("sms_sent", at(17), channel="sms"))
    assert sms.status_code == 422 and problem_type(sms) == "attempt-cap"
    assert "501.059(1)(j)" in sms.json()["reasons"][0]["source"]


async def test_do_not_contact_request_revokes_every_channel(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    await subscribe_all(client, org)
    lead_id = await old_lead(client, org, session, 707)
    r = await post_attempt(client, org, lead_id, attempt("do_not_contact_requested"))
    assert r.status_code == 201, r.text
    consent = await consent_of(client, org, lead_id)
    assert consent["do_not_contact"] == ["email", "sms", "voice"]
    assert {c: p["scheduling"]["status"] for c, p in consent["current"].items()} == {
        "voice": "revoked", "sms": "revoked", "email": "revoked"
    }  # fmt: skip
    lead = await get_lead(client, org, lead_id)
    assert lead["status"] == "lost"
    again = await post_attempt(client, org, lead_id, attempt("no_answer", at(17)))
    assert again.status_code == 422 and problem_type(again) == "revoked"
    assert len(await messages(session, org, "consent.revoked")) == 1


async def test_six_unanswered_calls_make_a_lead_unreachable(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    lead_id = await old_lead(client, org, session, 708)
    for hour in range(14, 20):
        r = await post_attempt(client, org, lead_id, attempt("no_answer", at(hour)))
        assert r.status_code == 201, r.text
    assert (await get_lead(client, org, lead_id))["status"] == "unreachable"
    r = await post_attempt(client, org, lead_id, attempt("connected", at(20)))
    assert (await get_lead(client, org, lead_id))["status"] == "contacted"


async def test_attempts_are_tenant_scoped_and_validated(
    client: httpx.AsyncClient, org: Org, other_org: Org, session: AsyncSession
) -> None:
    lead_id = await old_lead(client, org, session, 709)
    assert (await post_attempt(client, other_org, lead_id, attempt())).status_code == 404
    reader = await key_with(client, org, "leads:read")
    assert (await post_attempt(client, reader, lead_id, attempt())).status_code == 403
    bad = await post_attempt(client, org, lead_id, attempt(outcome="hung_up"))
    assert bad.status_code == 422 and problem_type(bad) == "validation-error"
    future = await post_attempt(client, org, lead_id, attempt(started_at="2199-01-01T00:00:00Z"))
    assert problem_type(future) == "attempt-in-future"
    before = await post_attempt(client, org, lead_id, attempt(started_at="2020-01-01T15:00:00Z"))
    assert problem_type(before) == "attempt-before-lead"


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE contact_attempts SET outcome = 'connected'",
        "UPDATE contact_attempts SET attempted_at = attempted_at - interval '1 hour'",
        "UPDATE contact_attempts SET notes_enc = NULL, outcome = 'connected'",
        "UPDATE contact_attempts SET lead_id = NULL, outcome = 'connected'",
        "DELETE FROM contact_attempts",
        "TRUNCATE contact_attempts",
    ],
)
async def test_attempts_are_append_only_but_their_notes_can_be_erased(
    client: httpx.AsyncClient, org: Org, session: AsyncSession, statement: str
) -> None:
    lead_id = await old_lead(client, org, session, 741)
    r = await post_attempt(client, org, lead_id, attempt("no_answer", at(16), notes="Sister"))
    assert r.status_code == 201, r.text
    scoped = "" if statement.startswith("TRUNCATE") else " WHERE organization_id = :org"
    with pytest.raises(DBAPIError, match="append-only"):
        async with session.begin_nested():
            await session.execute(text(statement + scoped), {"org": org.id})
    # Erasure removes the free text and nothing else: the record of the attempt stays.
    await session.execute(
        text(
            "UPDATE contact_attempts SET notes_enc = NULL, override_reason_enc = NULL"
            " WHERE organization_id = :org"
        ),
        {"org": org.id},
    )
    row = (
        await session.execute(
            text("SELECT outcome, notes_enc FROM contact_attempts WHERE organization_id = :org"),
            {"org": org.id},
        )
    ).one()
    assert (row.outcome, row.notes_enc) == ("no_answer", None)
