"""Attempts from the systems that place and track calls: Twilio status callbacks, CallRail."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
from typing import Any
from urllib.parse import urlencode

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from app.signatures import compute_twilio_signature
from tests.conftest import Org
from tests.intake.helpers import FIXTURES, create_source
from tests.outreach.helpers import old_lead
from tests.routing.http_helpers import get_lead

TOKEN = "twilio-auth-token-0123456789abcdef"
FORM = {"content-type": "application/x-www-form-urlencoded"}


def _callback(to: str, **overrides: str) -> list[tuple[str, str]]:
    params = {
        "AccountSid": "AC0123456789abcdef0123456789abcdef",
        "CallSid": "CA5b2f7f0d6e1c4a3b9a8e7d6c5b4a3f21",
        "CallStatus": "completed",
        "CallDuration": "142",
        "Direction": "outbound-api",
        "From": "+13125550188",
        "To": to,
        "SequenceNumber": "3",
        "Timestamp": "Tue, 18 Mar 2025 16:02:22 +0000",
        "CallbackSource": "call-progress-events",
        **overrides,
    }
    return list(params.items())


async def _post(
    client: httpx.AsyncClient, path: str, params: list[tuple[str, str]], signature: str
) -> httpx.Response:
    return await client.post(
        path, content=urlencode(params), headers={**FORM, "x-twilio-signature": signature}
    )


async def _attempts(client: httpx.AsyncClient, org: Org, lead_id: str) -> list[dict[str, Any]]:
    r = await client.get(f"/v1/leads/{lead_id}/contact-attempts", headers=org.headers)
    assert r.status_code == 200, r.text
    return list(r.json()["data"])


async def test_twilio_callback_needs_the_right_signature_and_records_an_attempt(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    source = await create_source(client, org, "twilio_voice", {"auth_token": TOKEN})
    assert source["settings"] == {"auth_token": {"set": True}}
    lead_id = await old_lead(client, org, session, 7501)
    url = f"{source['webhook_url']}?member=agent-7"
    path = url.removeprefix("http://testserver")
    params = _callback("+13125557501")

    wrong = await _post(client, path, params, compute_twilio_signature(url, params, "nope"))
    assert wrong.status_code == 401 and wrong.json()["type"].endswith("invalid-signature")
    assert await _attempts(client, org, lead_id) == []

    signature = compute_twilio_signature(url, params, TOKEN)
    ok = await _post(client, path, params, signature)
    assert ok.status_code == 200, ok.text
    assert ok.json()["status"] == "recorded" and ok.json()["lead_id"] == lead_id
    again = await _post(client, path, params, signature)
    assert again.json()["status"] == "duplicate"
    [got] = await _attempts(client, org, lead_id)
    assert got["outcome"] == "connected" and got["origin"] == "twilio"
    assert got["external_id"] == "CA5b2f7f0d6e1c4a3b9a8e7d6c5b4a3f21:3"
    assert got["member_external_id"] == "agent-7" and got["direction"] == "outbound"
    assert got["started_at"] == "2025-03-18T16:00:00Z"
    lead = await get_lead(client, org, lead_id)
    assert lead["status"] == "contacted"
    assert lead["contact_summary"]["first_attempt_at"] == "2025-03-18T16:00:00Z"


async def test_twilio_signature_is_checked_against_the_public_url_behind_a_proxy(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    public = "https://calls.example.org/hooks/twilio-status"
    source = await create_source(
        client, org, "twilio_voice", {"auth_token": TOKEN, "public_url": public}
    )
    lead_id = await old_lead(client, org, session, 7502)
    path = source["webhook_url"].removeprefix("http://testserver")
    busy = _callback("+13125557502", CallStatus="busy", CallSid="CAbusy", SequenceNumber="1")
    internal = compute_twilio_signature(source["webhook_url"], busy, TOKEN)
    assert (await _post(client, path, busy, internal)).status_code == 401
    r = await _post(client, path, busy, compute_twilio_signature(public, busy, TOKEN))
    assert r.status_code == 200 and r.json()["outcome"] == "busy", r.text
    # in-flight statuses and unknown numbers are answered 200 and stored nowhere
    ringing = _callback("+13125557502", CallStatus="ringing", CallSid="CAring")
    r = await _post(client, path, ringing, compute_twilio_signature(public, ringing, TOKEN))
    assert r.json()["status"] == "ignored"
    stranger = _callback("+13125550000", CallSid="CAstranger")
    r = await _post(client, path, stranger, compute_twilio_signature(public, stranger, TOKEN))
    assert r.json() == {"status": "ignored", "reason": "no lead has this number"}
    assert len(await _attempts(client, org, lead_id)) == 1


async def test_call_tracking_call_from_a_known_lead_is_an_inbound_attempt(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    source = await create_source(client, org, "call_tracking", {"signing_key": "cr-signing-key"})
    path = source["webhook_url"].removeprefix("http://testserver")

    async def deliver(doc: dict[str, Any]) -> dict[str, Any]:
        body = json.dumps(doc).encode()
        sig = base64.b64encode(hmac.new(b"cr-signing-key", body, hashlib.sha1).digest()).decode()
        r = await client.post(
            path, content=body, headers={"content-type": "application/json", "signature": sig}
        )
        assert r.status_code == 200, r.text
        return dict(r.json()["leads"][0])

    first = json.loads((FIXTURES / "callrail_post_call.json").read_text())
    lead = await deliver(first)
    assert lead["resubmission"] is False
    assert await _attempts(client, org, lead["lead_id"]) == []  # the first call is the lead
    # the person calls back a minute later (inside the duplicate window: same lead)
    start = (dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)).replace(microsecond=0)
    repeat = {**first, "resource_id": "CAL" + "1" * 35, "start_time": start.isoformat(),
              "duration": "95"}  # fmt: skip
    again = await deliver(repeat)
    assert again["lead_id"] == lead["lead_id"] and again["resubmission"] is True
    [got] = await _attempts(client, org, lead["lead_id"])
    assert (got["direction"], got["outcome"], got["origin"]) == (
        "inbound", "connected", "call_tracking"
    )  # fmt: skip
    assert dt.datetime.fromisoformat(got["started_at"]) == start
    assert dt.datetime.fromisoformat(got["ended_at"]) == start + dt.timedelta(seconds=95)
    assert (await get_lead(client, org, lead["lead_id"]))["status"] == "contacted"
    missed = await deliver({**repeat, "resource_id": "CAL" + "2" * 35, "answered": False})
    assert missed["resubmission"] is True
    outcomes = sorted(a["outcome"] for a in await _attempts(client, org, lead["lead_id"]))
    assert outcomes == ["connected", "no_answer"]
