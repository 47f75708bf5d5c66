"""Lifting a revocation with a new, explicit grant (`POST /v1/consent/grants`): the only way
(a revocation empties every queue; a suppression outlives the lead and is never deleted)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.main import create_app
from tests.conftest import Org, make_settings
from tests.consent.helpers import consent_of, eligibility, new_lead, revoke, rules
from tests.outreach.helpers import key_with, problem_type
from tests.routing.http_helpers import add_member, default_rule, make_team, publish_rules

WORDING = "Yes, Acme Ortho may text me about my appointment at this number."


def _grant(lead_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "lead_id": lead_id,
        "channel": "sms",
        "purpose": "scheduling",
        "disclosure_text": WORDING,
        "method": "web_form",
        "captured_at": dt.datetime.now(dt.UTC).isoformat(),
        "captured_by": "booking-form-v2",
        "ip": "203.0.113.9",
        "page_url": "https://www.acmeortho.example/text-me",
        **extra,
    }


async def _post(client: httpx.AsyncClient, org: Org, body: dict[str, Any]) -> httpx.Response:
    return await client.post("/v1/consent/grants", json=body, headers=org.headers)


async def _queue(client: httpx.AsyncClient, org: Org, team: str) -> list[dict[str, Any]]:
    r = await client.get("/v1/handoffs", params={"team": team}, headers=org.headers)
    assert r.status_code == 200, r.text
    return list(r.json()["data"])


async def test_stop_then_a_written_sms_consent_allows_sms_again_and_only_sms(
    client: httpx.AsyncClient, org: Org
) -> None:
    """Issue: a STOP, then a new written SMS consent with evidence: SMS is allowed again;
    voice stays as it was."""
    lead_id = await new_lead(client, org, 8701)
    r = await revoke(client, org, lead_id=lead_id, words="STOP", via="sms_reply")
    assert r.status_code == 201, r.text
    assert rules(await eligibility(client, org, lead_id, "sms"))[0] == "revoked"
    voice_before = await eligibility(client, org, lead_id, "voice")

    r = await _post(client, org, _grant(lead_id))
    assert r.status_code == 201, r.text
    assert r.json()["lifted"] is True and r.json()["decision"] == "granted"
    assert await eligibility(client, org, lead_id, "sms") == {
        **await eligibility(client, org, lead_id, "sms"), "allowed": True
    }  # fmt: skip
    voice_after = await eligibility(client, org, lead_id, "voice")
    assert (voice_after["allowed"], voice_after["reasons"]) == (
        voice_before["allowed"], voice_before["reasons"]
    )  # fmt: skip

    view = await consent_of(client, org, lead_id)
    assert view["lifted"] == [{"channel": "sms", "purpose": "scheduling"}]
    assert view["current"]["sms"]["scheduling"]["status"] == "granted"
    assert view["current"]["sms"]["marketing"]["status"] == "revoked"  # exactly that purpose
    grant = [e for e in view["events"] if e["origin"] == "grant"]
    assert len(grant) == 1 and grant[0]["evidence"]["captured_by"] == "booking-form-v2"
    assert any(d["text"] == WORDING for d in view["disclosures"])
    assert view["do_not_contact"] == ["sms"]  # history stays; the grant lifts it

    # another STOP blocks it again
    r = await revoke(client, org, lead_id=lead_id, words="STOP", via="sms_reply")
    assert r.status_code == 201
    assert rules(await eligibility(client, org, lead_id, "sms"))[0] == "revoked"


async def test_stopall_leaves_the_queue_and_a_new_grant_brings_it_back(
    client: httpx.AsyncClient, org: Org
) -> None:
    """Issue: STOPALL removes the lead from `GET /v1/handoffs` at once, a claim never
    returns it, and a new written grant brings it back (item 5)."""
    team = await make_team(client, org, sla_minutes={"default": 30})
    await publish_rules(client, org, [default_rule(str(team["id"]))])
    lead_id = await new_lead(client, org, 8702)
    r = await revoke(client, org, lead_id=lead_id, words="STOPALL", via="sms_reply")
    assert r.status_code == 201, r.text
    assert await _queue(client, org, team["id"]) == []
    member = await add_member(client, org, team["id"], "Ana")
    claim = {"member_id": member["id"]}
    empty = await client.post("/v1/handoffs/claim", json=claim, headers=org.headers)
    assert empty.status_code == 404 and problem_type(empty) == "queue-empty"

    r = await _post(client, org, _grant(lead_id))
    assert r.status_code == 201, r.text
    assert r.json()["contact_channels"] == ["sms"]
    [item] = await _queue(client, org, team["id"])
    assert item["lead_id"] == lead_id and item["channels"] == ["sms"]
    claimed = await client.post("/v1/handoffs/claim", json=claim, headers=org.headers)
    assert claimed.status_code == 200 and claimed.json()["lead_id"] == lead_id
    assert claimed.json()["consent"]["channels"]["sms"] == "granted"
    assert claimed.json()["consent"]["channels"]["voice"] == "suppressed"


async def test_a_grant_must_prove_itself_and_follow_the_revocation(
    client: httpx.AsyncClient, org: Org, other_org: Org, session: AsyncSession
) -> None:
    lead_id = await new_lead(client, org, 8703)
    r = await revoke(client, org, lead_id=lead_id, channel="all", via="agent")
    assert r.status_code == 201
    before = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).isoformat()
    stale = await _post(client, org, _grant(lead_id, captured_at=before))
    assert stale.status_code == 422 and problem_type(stale) == "grant-predates-revocation"
    thin = await _post(client, org, _grant(lead_id, ip=None, page_url=None))
    assert thin.status_code == 422 and problem_type(thin) == "consent-evidence-incomplete"
    assert thin.json()["missing_evidence"] == ["capture_context"]
    future = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).isoformat()
    ahead = await _post(client, org, _grant(lead_id, captured_at=future))
    assert ahead.status_code == 422 and problem_type(ahead) == "grant-in-future"
    recorded = await _post(
        client, org,
        _grant(lead_id, ip=None, page_url=None, method="verbal_recorded",
               evidence_ref="call-recording 7781", channel="voice"),
    )  # fmt: skip
    assert recorded.status_code == 201, recorded.text
    assert (await eligibility(client, org, lead_id, "voice"))["allowed"] is True
    assert rules(await eligibility(client, org, lead_id, "sms"))[0] == "revoked"

    stranger = await _post(client, other_org, _grant(lead_id))
    assert stranger.status_code == 404
    reader = await key_with(client, org, "leads:read")
    assert (await _post(client, reader, _grant(lead_id))).status_code == 403
    # audited, refusals included; suppression rows are never deleted
    actions = await session.execute(
        text(
            "SELECT action, outcome, problem_type FROM audit_events"
            " WHERE organization_id = :o AND action = 'consent.grant' ORDER BY id"
        ),
        {"o": org.id},
    )
    got = [tuple(row) for row in actions]
    assert ("consent.grant", "refused", "grant-predates-revocation") in got
    assert ("consent.grant", "allowed", None) in got
    kept = await session.scalar(
        text("SELECT count(*) FROM suppressions WHERE organization_id = :o"), {"o": org.id}
    )
    assert kept >= 1


async def test_a_grant_without_a_revocation_is_recorded_and_lifts_nothing(
    client: httpx.AsyncClient, org: Org
) -> None:
    lead_id = await new_lead(client, org, 8704, consent=None)
    r = await _post(client, org, _grant(lead_id, purpose="marketing"))
    assert r.status_code == 201, r.text
    assert r.json()["lifted"] is False and r.json()["contact_channels"] == ["sms"]
    r = await client.get(
        f"/v1/leads/{lead_id}/contact-eligibility",
        params={"channel": "sms", "purpose": "marketing", "at": "2025-03-18T16:00:00Z"},
        headers=org.headers,
    )
    assert r.json()["allowed"] is True and r.json()["basis"] == "written_consent", r.text


async def test_no_endpoint_deletes_a_suppression() -> None:
    spec = create_app(make_settings()).openapi()
    assert not [p for p, ops in spec["paths"].items() if "consent" in p and "delete" in ops]
    assert not [p for p in spec["paths"] if "suppression" in p]
