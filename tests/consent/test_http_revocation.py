"""Revocations over HTTP: honoured in the same request, remembered after the lead is gone."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import service as auth_service
from tests.conftest import Org
from tests.consent.helpers import consent_of, eligibility, new_lead, revoke, rules
from tests.intake.helpers import person, post_lead


async def test_revocation_by_phone_then_eligibility_is_refused_as_revoked(
    client: httpx.AsyncClient, org: Org
) -> None:
    lead_id = await new_lead(client, org, 101)
    assert (await eligibility(client, org, lead_id, "voice"))["allowed"] is True

    # the same number, written the way an agent types it
    r = await revoke(client, org, phone="(312) 555-0101", channel="voice", via="call")
    assert r.status_code == 201, r.text
    assert r.json()["lead_ids"] == [lead_id]
    assert r.json()["channels"] == ["voice"]

    voice = await eligibility(client, org, lead_id, "voice")
    assert voice["allowed"] is False
    assert rules(voice)[0] == "revoked"
    assert voice["next_allowed_at"] is None
    assert (await eligibility(client, org, lead_id, "sms"))["allowed"] is True


async def test_new_lead_with_a_revoked_phone_arrives_do_not_contact(
    client: httpx.AsyncClient, org: Org
) -> None:
    r = await revoke(client, org, phone="+1 312 555 0102", channel="sms", via="agent")
    assert r.status_code == 201, r.text
    assert r.json()["lead_ids"] == [] and r.json()["suppressed"] == ["phone"]

    created = await post_lead(client, org, person(102))
    assert created.status_code == 201, created.text
    assert created.json()["consent"]["channels"]["sms"] == "suppressed"
    lead_id = created.json()["lead_id"]
    detail = (await client.get(f"/v1/leads/{lead_id}", headers=org.headers)).json()
    assert detail["contact_summary"]["do_not_contact"] == ["sms"]
    assert rules(await eligibility(client, org, lead_id, "sms")) == ["revoked"]
    assert (await eligibility(client, org, lead_id, "voice"))["allowed"] is True


@pytest.mark.parametrize("reply", ["STOP", "  stop ", "Stop.", "opt out"])
async def test_stop_reply_revokes_sms_only(client: httpx.AsyncClient, org: Org, reply: str) -> None:
    lead_id = await new_lead(client, org, 103)
    r = await revoke(client, org, lead_id=lead_id, words=reply, via="sms_reply")
    assert r.status_code == 201, r.text
    assert r.json()["channels"] == ["sms"]
    assert r.json()["keyword"] in ("STOP", "OPT OUT")

    assert rules(await eligibility(client, org, lead_id, "sms"))[0] == "revoked"
    assert (await eligibility(client, org, lead_id, "voice"))["allowed"] is True
    view = await consent_of(client, org, lead_id)
    assert view["current"]["sms"]["scheduling"]["status"] == "revoked"
    assert view["current"]["voice"]["scheduling"]["status"] == "granted"
    revocations = [e for e in view["events"] if e["decision"] == "revoked"]
    assert {e["via"] for e in revocations} == {"sms_reply"}
    assert revocations[0]["evidence"]["words"] == reply


async def test_stopall_revokes_every_channel(client: httpx.AsyncClient, org: Org) -> None:
    lead_id = await new_lead(client, org, 104)
    r = await revoke(client, org, phone="+13125550104", words="STOPALL", via="sms_reply")
    assert r.status_code == 201, r.text
    assert r.json()["channels"] == ["voice", "sms", "email"]
    detail = (await client.get(f"/v1/leads/{lead_id}", headers=org.headers)).json()
    assert detail["contact_summary"]["do_not_contact"] == ["email", "sms", "voice"]
    for channel in ("voice", "sms", "email"):
        assert rules(await eligibility(client, org, lead_id, channel))[0] == "revoked"


async def test_revocation_of_another_organisations_lead_is_404(
    client: httpx.AsyncClient, org: Org, other_org: Org
) -> None:
    lead_id = await new_lead(client, org, 105)
    r = await revoke(client, other_org, lead_id=lead_id, channel="all", via="api")
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"
    # and a phone lookup from the other organisation touches none of ours
    r = await revoke(client, other_org, phone="+13125550105", channel="all", via="api")
    assert r.status_code == 201 and r.json()["lead_ids"] == []
    assert (await eligibility(client, org, lead_id, "voice"))["allowed"] is True


async def test_free_text_without_a_channel_is_422(client: httpx.AsyncClient, org: Org) -> None:
    lead_id = await new_lead(client, org, 106)
    r = await revoke(client, org, lead_id=lead_id, words="stop by tomorrow", via="sms_reply")
    assert r.status_code == 422
    assert r.json()["type"].endswith("/revocation-channel-required")
    assert "tomorrow" not in r.text  # the person's words are not echoed
    r = await revoke(client, org, channel="voice", via="api")
    assert r.status_code == 422


async def test_revocation_needs_the_consent_write_scope(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    _, reader = await auth_service.create_key(session, org.id, "reader", ["leads:read"])
    _, writer = await auth_service.create_key(session, org.id, "consent", ["consent:write"])
    await session.commit()
    body = {"phone": "+13125550107", "channel": "voice", "via": "api"}
    denied = await client.post(
        "/v1/consent/revocations", json=body, headers={"Authorization": f"Bearer {reader}"}
    )
    assert denied.status_code == 403
    allowed = await client.post(
        "/v1/consent/revocations", json=body, headers={"Authorization": f"Bearer {writer}"}
    )
    assert allowed.status_code == 201


async def test_suppression_survives_the_leads_deletion(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    lead_id = await new_lead(client, org, 108)
    assert (
        await revoke(client, org, lead_id=lead_id, channel="all", via="form")
    ).status_code == 201
    await session.execute(text("DELETE FROM leads WHERE id = :id"), {"id": lead_id})
    await session.commit()

    again = await post_lead(client, org, {**person(108), "email": "someone.else@example.com"})
    assert again.status_code == 201, again.text
    assert again.json()["consent"]["do_not_contact"] == ["email", "sms", "voice"]
    # the same email with a new number is blocked too: the lead's address was suppressed
    by_email = await post_lead(client, org, {**person(109), "email": "person108@example.com"})
    assert by_email.json()["consent"]["do_not_contact"] == ["email", "sms", "voice"]


async def test_revocations_are_audited_without_personal_data(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    lead_id = await new_lead(client, org, 110)
    r = await revoke(client, org, lead_id=lead_id, words="STOP", via="sms_reply")
    assert r.status_code == 201
    row = (
        await session.execute(
            text(
                "SELECT target_id, details::text FROM audit_events WHERE action = 'consent.revoke'"
                " AND organization_id = :org"  # tests that commit leave audit events too
            ),
            {"org": org.id},
        )
    ).one()
    assert row[0] == lead_id
    assert "555" not in row[1] and "person110" not in row[1]
