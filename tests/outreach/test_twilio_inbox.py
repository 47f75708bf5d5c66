"""Twilio status callbacks go through the inbox: stored raw and encrypted, unique on
CallSid:SequenceNumber, listed when unmatched, replayable like every other delivery."""

from __future__ import annotations

import uuid
from urllib.parse import urlencode

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.crypto import cipher
from app.intake.service import body_context
from app.signatures import compute_twilio_signature
from tests.conftest import Org
from tests.intake.helpers import create_source
from tests.outreach.helpers import backdate
from tests.outreach.test_webhooks import TOKEN, _callback
from tests.privacy.helpers import Person

FORM = {"content-type": "application/x-www-form-urlencoded"}


async def _send(
    client: httpx.AsyncClient, url: str, params: list[tuple[str, str]]
) -> httpx.Response:
    signature = compute_twilio_signature(url, params, TOKEN)
    return await client.post(
        url.removeprefix("http://testserver"),
        content=urlencode(params),
        headers={**FORM, "x-twilio-signature": signature},
    )


async def _inbox(client: httpx.AsyncClient, org: Org, **params: str) -> list[dict[str, object]]:
    r = await client.get("/v1/inbox", params=params, headers=org.headers)
    assert r.status_code == 200, r.text
    return list(r.json()["data"])


async def test_unmatched_callback_is_kept_listed_and_replayed_once_the_lead_exists(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    source = await create_source(client, org, "twilio_voice", {"auth_token": TOKEN})
    url = f"{source['webhook_url']}?member=agent-9"
    who = Person.new()
    params = _callback(who.phone, CallSid="CAunmatched01", SequenceNumber="4")

    r = await _send(client, url, params)
    assert r.status_code == 200 and r.json()["reason"] == "no lead has this number", r.text
    [stored] = await _inbox(client, org, status="unmatched")
    assert stored["event_id"] == "CAunmatched01:4"
    # kept raw, encrypted: the number is not in the row, the exact body is in the blob
    body = (
        await session.execute(
            text("SELECT body FROM inbox_deliveries WHERE id = :id"),
            {"id": uuid.UUID(str(stored["id"]))},
        )
    ).scalar_one()
    assert who.phone.encode() not in body
    assert (
        cipher().decrypt(body, body_context(uuid.UUID(str(stored["id"]))))
        == urlencode(params).encode()
    )
    # Twilio retries: the same event is stored once and answered the same
    again = await _send(client, url, params)
    assert again.json() == r.json()
    assert len(await _inbox(client, org, source_id=source["id"])) == 1

    # the lead arrives; replaying the stored callback records the attempt
    lead = await client.post("/v1/leads", json=who.lead(), headers=org.headers)
    lead_id = lead.json()["lead_id"]
    await backdate(session, lead_id)
    replay = await client.post(f"/v1/inbox/{stored['id']}/replay", headers=org.headers)
    assert replay.status_code == 200, replay.text
    assert replay.json()["status"] == "recorded" and replay.json()["lead_id"] == lead_id
    attempts = (
        await client.get(f"/v1/leads/{lead_id}/contact-attempts", headers=org.headers)
    ).json()["data"]
    assert len(attempts) == 1 and attempts[0]["member_external_id"] == "agent-9"
    assert attempts[0]["external_id"] == "CAunmatched01:4"
    assert await _inbox(client, org, status="unmatched") == []
    again = await client.post(f"/v1/inbox/{stored['id']}/replay", headers=org.headers)
    assert again.status_code == 409

    # another callback is another event; a repeat of it records nothing new
    later = _callback(who.phone, CallSid="CAunmatched01", SequenceNumber="5")
    first = await _send(client, url, later)
    assert first.json()["status"] == "recorded"
    repeat = await _send(client, url, later)
    assert repeat.json() == {**first.json(), "status": "duplicate"}
    assert len(await _inbox(client, org, source_id=source["id"])) == 2


async def test_unreadable_callback_is_quarantined_not_lost(
    client: httpx.AsyncClient, org: Org
) -> None:
    source = await create_source(client, org, "twilio_voice", {"auth_token": TOKEN})
    params = [("CallSid", "CAbroken"), ("CallStatus", "exploded"), ("SequenceNumber", "1")]
    r = await _send(client, source["webhook_url"], params)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    [stored] = await _inbox(client, org, status="quarantined")
    assert "CallStatus" in str(stored["reason"])
    # its retry is the same delivery (named by the body's digest: it cannot be parsed)
    assert (await _send(client, source["webhook_url"], params)).json() == r.json()
    # unauthenticated callbacks store nothing
    r = await client.post(
        source["webhook_url"].removeprefix("http://testserver"),
        content=urlencode(params),
        headers={**FORM, "x-twilio-signature": "forged"},
    )
    assert r.status_code == 401
    assert len(await _inbox(client, org)) == 1
