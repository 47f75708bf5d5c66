"""TrustedForm and Jornaya verification over HTTP, against local servers speaking their APIs."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app import worker
from app.config import get_settings
from tests.conftest import Org
from tests.consent.helpers import OPEN_HOURS
from tests.integrations.peers import LAC, TF_KEY, Jornaya, TrustedForm
from tests.outreach.helpers import backdate, key_with
from tests.privacy.helpers import Person
from tests.support.http import LocalServer, serve

TOKEN_OK = "1F2E3D4C-5B6A-4798-8A7B-6C5D4E3F2A1B"
TOKEN_FAKE = "00000000-0000-4000-8000-000000000000"


@pytest.fixture
def trustedform(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[LocalServer, TrustedForm]]:
    peer = TrustedForm()
    with serve(peer) as server:
        monkeypatch.setenv("LEAD_ROUTER_TRUSTEDFORM_API_URL", server.url)
        monkeypatch.setenv("LEAD_ROUTER_TRUSTEDFORM_INSIGHTS", "true")
        get_settings.cache_clear()
        yield server, peer
        get_settings.cache_clear()


@pytest.fixture
def jornaya(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[LocalServer, Jornaya]]:
    peer = Jornaya(authentic={TOKEN_OK})
    with serve(peer) as server:
        monkeypatch.setenv("LEAD_ROUTER_JORNAYA_API_URL", server.url)
        get_settings.cache_clear()
        yield server, peer
        get_settings.cache_clear()


async def run_checks(engine: AsyncEngine) -> int:
    maker = async_sessionmaker(engine, expire_on_commit=False)
    return await worker.run_once(maker, kinds=["consent.verify"])


async def due_now(session: AsyncSession, org: Org) -> None:
    """The organisation's waiting checks fall due."""
    await session.execute(
        text(
            "UPDATE jobs SET run_at = now() WHERE kind = 'consent.verify' AND organization_id = :o"
        ),
        {"o": org.id},
    )
    await session.commit()


def lead_with(who: Person, **consent: Any) -> dict[str, Any]:
    body = who.lead()
    body["consent"] = {**body["consent"], "purposes": ["scheduling", "marketing"], **consent}
    return body


async def post(client: httpx.AsyncClient, org: Org, body: dict[str, Any]) -> str:
    r = await client.post("/v1/leads", json=body, headers=org.headers)
    assert r.status_code == 201, r.text
    return str(r.json()["lead_id"])


async def consent_view(client: httpx.AsyncClient, org: Org, lead_id: str) -> dict[str, Any]:
    r = await client.get(f"/v1/leads/{lead_id}/consent", headers=org.headers)
    assert r.status_code == 200, r.text
    return dict(r.json())


async def marketing_call(client: httpx.AsyncClient, org: Org, lead_id: str) -> httpx.Response:
    return await client.post(
        f"/v1/leads/{lead_id}/contact-attempts",
        json={"channel": "voice", "purpose": "marketing", "outcome": "no_answer",
              "started_at": OPEN_HOURS},
        headers=org.headers,
    )  # fmt: skip


async def test_integration_keys_are_write_only(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    r = await client.put(
        "/v1/integrations/trustedform", json={"api_key": TF_KEY}, headers=org.headers
    )
    assert r.status_code == 200 and r.json() == {"set": True}
    r = await client.put(
        "/v1/integrations/jornaya", json={"account_code": LAC}, headers=org.headers
    )
    assert r.json() == {"set": True}
    listed = await client.get("/v1/integrations", headers=org.headers)
    assert listed.json()["trustedform"] and listed.json()["jornaya"]
    assert TF_KEY not in listed.text and LAC not in listed.text
    stored = (await session.execute(text("SELECT secret_enc FROM integration_credentials"))).all()
    assert stored and all(TF_KEY.encode() not in bytes(s) for (s,) in stored)
    reader = await key_with(client, org, "leads:read", "leads:write")
    r = await client.put("/v1/integrations/trustedform", json={"api_key": TF_KEY},
                         headers=reader.headers)  # fmt: skip
    assert r.status_code == 403
    r = await client.put("/v1/integrations/trustedform", json={}, headers=org.headers)
    assert r.status_code == 422 and TF_KEY not in r.text


async def test_trustedform_retain_and_match_then_marketing_call_refused_on_no_match(
    client: httpx.AsyncClient,
    org: Org,
    engine: AsyncEngine,
    session: AsyncSession,
    trustedform: tuple[LocalServer, TrustedForm],
) -> None:
    server, peer = trustedform
    await client.put("/v1/integrations/trustedform", json={"api_key": TF_KEY}, headers=org.headers)
    good, bad = Person.new(), Person.new()
    peer.email["cert0good0001"] = good.email
    peer.email["cert0other002"] = "somebody.else@example.com"
    matched = await post(client, org, lead_with(
        good, certificate_url="https://cert.trustedform.com/cert0good0001"))  # fmt: skip
    mismatched = await post(client, org, lead_with(
        bad, certificate_url="https://cert.trustedform.com/cert0other002"))  # fmt: skip
    pending = await consent_view(client, org, matched)
    assert [v["status"] for v in pending["verifications"]] == ["pending"]

    assert await run_checks(engine) == 2
    calls = {r.path: r for r in server.requests}
    assert set(calls) == {"/cert0good0001", "/cert0other002"}
    call = calls["/cert0good0001"]
    assert call.method == "POST"
    assert (
        call.headers["Authorization"]
        == "Basic " + base64.b64encode(f"API:{TF_KEY}".encode()).decode()
    )
    assert call.headers["Api-Version"] == "4.0"
    assert call.headers["Content-Type"] == "application/json"
    body = json.loads(call.body)
    assert body["retain"] == {"reference": matched}
    assert body["match_lead"] == {"email": good.email, "phone": good.phone[2:]}

    view = await consent_view(client, org, matched)
    assert view["consent_unverified"] is False
    [check] = view["verifications"]
    assert check["provider"] == "trustedform" and check["status"] == "verified"
    assert check["facts"]["page_url"] == "https://www.lakesideortho.example/book"
    assert check["facts"]["created_at"] and check["facts"]["expires_at"]

    view = await consent_view(client, org, mismatched)
    assert view["consent_unverified"] is True
    assert view["verifications"][0]["status"] == "no_match"
    fhir = await client.get(f"/v1/leads/{mismatched}/consent?format=fhir", headers=org.headers)
    resources = [e["resource"] for e in fhir.json()["entry"]]
    assert resources and all(r["verification"][0]["verified"] is False for r in resources)
    assert all(r["meta"]["tag"][0]["code"] == "consent-unverified" for r in resources)

    await backdate(session, matched)
    await backdate(session, mismatched)
    r = await client.get(
        f"/v1/leads/{mismatched}/contact-eligibility",
        params={"channel": "voice", "purpose": "marketing", "at": OPEN_HOURS},
        headers=org.headers,
    )
    assert r.json()["allowed"] is False and r.json()["consent_unverified"] is True
    assert [x["rule"] for x in r.json()["reasons"]] == ["consent-unverified"]
    refused = await marketing_call(client, org, mismatched)
    assert refused.status_code == 422, refused.text
    assert refused.json()["type"].endswith("/consent-unverified")
    # scheduling stays allowed by default; the verified lead may be called for marketing
    r = await client.get(
        f"/v1/leads/{mismatched}/contact-eligibility",
        params={"channel": "voice", "purpose": "scheduling", "at": OPEN_HOURS},
        headers=org.headers,
    )
    assert r.json()["allowed"] is True, r.json()
    assert (await marketing_call(client, org, matched)).status_code == 201


async def test_trustedform_only_its_own_host_retries_and_expiry(
    client: httpx.AsyncClient,
    org: Org,
    engine: AsyncEngine,
    session: AsyncSession,
    trustedform: tuple[LocalServer, TrustedForm],
) -> None:
    server, peer = trustedform
    await client.put("/v1/integrations/trustedform", json={"api_key": TF_KEY}, headers=org.headers)
    flaky_who, old_who, evil_who = Person.new(), Person.new(), Person.new()
    peer.email["cert0flaky003"] = flaky_who.email
    peer.flaky["cert0flaky003"] = 1
    peer.expired.add("cert0old00004")
    flaky = await post(client, org, lead_with(
        flaky_who, certificate_url="https://cert.trustedform.com/cert0flaky003"))  # fmt: skip
    old = await post(client, org, lead_with(
        old_who, certificate_url="https://cert.trustedform.com/cert0old00004"))  # fmt: skip
    evil = await post(client, org, lead_with(
        evil_who, certificate_url="https://cert.trustedform.com.evil.example/cert1"))  # fmt: skip

    # a URL on any other host is never called: refused and flagged at intake
    view = await consent_view(client, org, evil)
    assert view["consent_unverified"] is True
    assert view["verifications"][0]["status"] == "refused"

    assert await run_checks(engine) == 2
    assert (await consent_view(client, org, old))["verifications"][0]["status"] == "expired"
    assert (await consent_view(client, org, old))["consent_unverified"] is True
    # TrustedForm was unavailable: still pending, retried with backoff
    assert (await consent_view(client, org, flaky))["verifications"][0]["status"] == "pending"
    retry = (
        await session.execute(
            text("SELECT status, attempts, run_at > now() FROM jobs WHERE kind = 'consent.verify'"
                 " AND payload->>'verification_id' = :v"),
            {"v": (await consent_view(client, org, flaky))["verifications"][0]["id"]},
        )
    ).one()  # fmt: skip
    assert tuple(retry) == ("queued", 1, True)
    await due_now(session, org)
    assert await run_checks(engine) == 1
    assert (await consent_view(client, org, flaky))["verifications"][0]["status"] == "verified"
    assert all("evil" not in r.path for r in server.requests)
    assert len(server.requests) == 3


async def test_jornaya_authenticate(
    client: httpx.AsyncClient,
    org: Org,
    engine: AsyncEngine,
    jornaya: tuple[LocalServer, Jornaya],
) -> None:
    server, _ = jornaya
    await client.put("/v1/integrations/jornaya", json={"account_code": LAC}, headers=org.headers)
    ok = await post(client, org, lead_with(Person.new(), leadid_token=TOKEN_OK))
    fake = await post(client, org, lead_with(Person.new(), leadid_token=TOKEN_FAKE))
    junk = await post(client, org, lead_with(Person.new(), leadid_token="not-a-token"))
    assert await run_checks(engine) == 2
    assert {r.path.split("?")[0] for r in server.requests} == {"/Authenticate"}
    assert any(f"lac={LAC}" in r.path and f"id={TOKEN_OK}" in r.path for r in server.requests)
    verified = await consent_view(client, org, ok)
    assert verified["verifications"][0]["status"] == "verified"
    assert verified["verifications"][0]["facts"]["authentic"] == 1
    assert verified["consent_unverified"] is False
    for lead_id, status in ((fake, "no_match"), (junk, "refused")):
        view = await consent_view(client, org, lead_id)
        assert view["verifications"][0]["status"] == status
        assert view["consent_unverified"] is True


async def test_no_key_waits_then_checks(
    client: httpx.AsyncClient,
    org: Org,
    engine: AsyncEngine,
    session: AsyncSession,
    trustedform: tuple[LocalServer, TrustedForm],
) -> None:
    server, peer = trustedform
    who = Person.new()
    peer.email["cert0later005"] = who.email
    lead = await post(client, org, lead_with(
        who, certificate_url="https://cert.trustedform.com/cert0later005"))  # fmt: skip
    assert await run_checks(engine) == 1
    assert server.requests == []  # no key yet: nothing sent, retried later
    await client.put("/v1/integrations/trustedform", json={"api_key": TF_KEY}, headers=org.headers)
    await due_now(session, org)
    assert await run_checks(engine) == 1
    assert (await consent_view(client, org, lead))["verifications"][0]["status"] == "verified"
    assert uuid.UUID(lead)
