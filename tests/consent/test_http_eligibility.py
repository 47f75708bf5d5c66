"""`GET /v1/leads/{id}/contact-eligibility` and the enforcement other domains call."""

from __future__ import annotations

import datetime as dt
import uuid

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import service as auth_service
from app.auth.service import Caller
from app.consent import service as consent_service
from app.consent.policy import Channel, Direction, PastAttempt
from app.errors import Forbidden
from app.leads.models import Lead
from tests.conftest import Org
from tests.consent.helpers import OPEN_HOURS, eligibility, new_lead, rules

NIGHT = "2025-03-18T08:30:00Z"  # 03:30 in Chicago


async def test_sms_without_consent_is_no_consent(client: httpx.AsyncClient, org: Org) -> None:
    voice_only = {"checked": True, "disclosure_text": "Calls only.", "channels": ["voice"]}
    lead_id = await new_lead(client, org, 401, consent=voice_only)
    sms = await eligibility(client, org, lead_id, "sms")
    assert sms["allowed"] is False and rules(sms) == ["no-consent"]
    assert sms["reasons"][0]["source"].startswith("47 CFR 64.1200")
    assert (await eligibility(client, org, lead_id, "voice"))["allowed"] is True
    bare = await new_lead(client, org, 402, consent=None)
    assert rules(await eligibility(client, org, bare, "voice")) == ["no-consent"]


async def test_answer_shape_and_calling_hours(client: httpx.AsyncClient, org: Org) -> None:
    lead_id = await new_lead(client, org, 403)
    night = await eligibility(client, org, lead_id, "voice", at=NIGHT)
    assert night["allowed"] is False and rules(night) == ["calling-hours"]
    assert night["next_allowed_at"] == "2025-03-18T13:00:00Z"  # 08:00 Chicago
    assert night["located_in"] == ["IL"] and night["time_zones"] == ["America/Chicago"]
    assert night["applied"][0] == "US" and night["rules_version"]
    day = await eligibility(client, org, lead_id, "voice")
    assert day["allowed"] is True and day["reasons"] == []
    assert day["purpose"] == "scheduling" and day["direction"] == "outbound"
    # marketing needs its own consent: this lead gave scheduling only
    r = await client.get(
        f"/v1/leads/{lead_id}/contact-eligibility",
        params={"channel": "voice", "at": OPEN_HOURS, "purpose": "marketing"},
        headers=org.headers,
    )
    assert rules(r.json()) == ["no-consent"]


async def test_eligibility_is_tenant_scoped_and_validated(
    client: httpx.AsyncClient, org: Org, other_org: Org, session: AsyncSession
) -> None:
    lead_id = await new_lead(client, org, 404)
    path = f"/v1/leads/{lead_id}/contact-eligibility"
    r = await client.get(path, params={"channel": "voice"}, headers=other_org.headers)
    assert r.status_code == 404
    r = await client.get(path, params={"channel": "fax"}, headers=org.headers)
    assert r.status_code == 422
    r = await client.get(
        path, params={"channel": "voice", "at": "2025-03-18T16:00:00"}, headers=org.headers
    )
    assert r.status_code == 422  # a time without an offset is ambiguous
    _, dialer = await auth_service.create_key(session, org.id, "dialer", ["attempts:write"])
    _, writer = await auth_service.create_key(session, org.id, "writer", ["leads:write"])
    await session.commit()
    for token, expected in ((dialer, 200), (writer, 403)):
        r = await client.get(
            path, params={"channel": "voice"}, headers={"Authorization": f"Bearer {token}"}
        )
        assert r.status_code == expected


async def _lead(session: AsyncSession, lead_id: str) -> Lead:
    lead = await session.get(Lead, uuid.UUID(lead_id))
    assert lead is not None
    return lead


async def test_enforce_policy_refuses_with_the_rule_and_admin_can_override(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    lead = await _lead(session, await new_lead(client, org, 405))
    night = dt.datetime.fromisoformat(NIGHT)
    agent = Caller(org_id=org.id, key_id=None, scopes=frozenset({"attempts:write"}))
    admin = Caller(org_id=org.id, key_id=None, scopes=frozenset({"admin"}))
    with pytest.raises(consent_service.ContactRefused) as refused:
        await consent_service.enforce_policy(
            session, agent, lead, Channel.VOICE, Direction.OUTBOUND, night, ()
        )
    assert refused.value.status == 422 and refused.value.type == "calling-hours"
    with pytest.raises(Forbidden):
        await consent_service.enforce_policy(
            session, agent, lead, Channel.VOICE, Direction.OUTBOUND, night, (),
            override_reason="patient asked for a late call",
        )  # fmt: skip
    decision = await consent_service.enforce_policy(
        session, admin, lead, Channel.VOICE, Direction.OUTBOUND, night, (),
        override_reason="patient asked for a late call",
    )  # fmt: skip
    assert decision.allowed is False
    details = await session.scalar(
        text("SELECT details::text FROM audit_events WHERE action = 'contact.policy_override'")
    )
    assert details is not None and "calling-hours" in details and "patient" not in details


async def test_attempt_cap_counts_past_attempts(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    florida = {"postal_code": "33101", "phone": "+1 305-555-0406"}
    lead = await _lead(session, await new_lead(client, org, 406, **florida))
    now = dt.datetime(2025, 3, 18, 16, tzinfo=dt.UTC)
    past = [PastAttempt(now - dt.timedelta(hours=h), Channel.VOICE) for h in (1, 2, 3)]
    decision = await consent_service.check_policy(
        session, lead, Channel.VOICE, Direction.OUTBOUND, now, past
    )
    assert decision.problem_type is not None and decision.problem_type.value == "attempt-cap"
    assert await consent_service.load_past_attempts(session, lead, now) == ()
