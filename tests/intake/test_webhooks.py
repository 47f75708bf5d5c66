"""Every source kind, sent byte for byte as its sender sends it, over the HTTP API."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
)

from app import worker
from app.intake import flow
from app.signatures import generate_whsec, sign_standard_webhook
from tests.conftest import Org
from tests.intake.helpers import TYPEFORM_MAPPING, create_source
from tests.routing.http_helpers import add_member, default_rule, get_lead, make_team, publish_rules
from tests.support.http import serve

FIXTURES = Path(__file__).parent / "fixtures"
PROBLEM = "application/problem+json"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def hub_signature(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def b64_hmac(body: bytes, secret: str, algo: Any = hashlib.sha256) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, algo).digest()).decode()


async def count(session: AsyncSession, table: str, org: Org) -> int:
    """Rows of this test's organisation (committed tests may leave rows of their own)."""
    stmt = text(f"SELECT count(*) FROM {table} WHERE organization_id = :o")  # noqa: S608
    return int((await session.execute(stmt, {"o": org.id})).scalar_one())


async def lead_detail(client: httpx.AsyncClient, org: Org, lead_id: str) -> dict[str, Any]:
    r = await client.get(f"/v1/leads/{lead_id}", headers=org.headers)
    assert r.status_code == 200, r.text
    return dict(r.json())


def webhook_path(source: dict[str, Any]) -> str:
    return str(source["webhook_url"]).removeprefix("http://testserver")


# --- Google -------------------------------------------------------------------------------


async def test_google_lead_form_creates_normalised_lead(
    client: httpx.AsyncClient, org: Org
) -> None:
    source = await create_source(
        client, org, "google_ads_lead_form", {"google_key": "prod-form-key-7f3a9c"}
    )
    assert "prod-form-key" not in json.dumps(source)
    assert source["settings"]["google_key"] == {"set": True}
    body = fixture("google_lead.json")
    r = await client.post(
        webhook_path(source), content=body, headers={"content-type": "application/json"}
    )
    assert r.status_code == 200, r.text
    lead = await lead_detail(client, org, r.json()["leads"][0]["lead_id"])
    assert lead["contact"]["phone"] == "+17735550119"
    assert lead["location_facts"]["state"] == "IL"
    assert lead["location_facts"]["time_zone"] == "America/Chicago"
    assert lead["attribution"]["campaign_id"] == "9223372036854775807"  # every digit kept
    assert lead["attribution"]["gclid"] == "Cj0KCQjw-example-gclid"


async def test_google_test_lead_is_flagged(client: httpx.AsyncClient, org: Org) -> None:
    body = fixture("google_test_lead.json")
    key = json.loads(body)["Google_key"]
    source = await create_source(client, org, "google_ads_lead_form", {"google_key": key})
    r = await client.post(
        webhook_path(source), content=body, headers={"content-type": "application/json"}
    )
    lead = await lead_detail(client, org, r.json()["leads"][0]["lead_id"])
    assert lead["is_test"] is True


@pytest.mark.parametrize("key", ["wrong-key", None])
async def test_google_wrong_key_is_401_and_stores_nothing(
    client: httpx.AsyncClient, org: Org, session: AsyncSession, key: str | None
) -> None:
    source = await create_source(client, org, "google_ads_lead_form", {"google_key": "right-key"})
    doc = json.loads(fixture("google_lead.json").replace(b",\n}", b"\n}"))
    doc.pop("google_key")
    if key:
        doc["google_key"] = key
    r = await client.post(webhook_path(source), json=doc)
    assert r.status_code == 401 and r.headers["content-type"] == PROBLEM
    assert await count(session, "inbox_deliveries", org) == 0
    assert await count(session, "leads", org) == 0


async def test_redelivery_is_one_lead_with_the_same_answer(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    source = await create_source(
        client, org, "google_ads_lead_form", {"google_key": "prod-form-key-7f3a9c"}
    )
    body = fixture("google_lead.json")
    first = await client.post(webhook_path(source), content=body)
    second = await client.post(webhook_path(source), content=body)
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    assert "Idempotent-Replayed" not in first.headers
    assert second.headers["Idempotent-Replayed"] == "true"
    assert await count(session, "leads", org) == 1
    assert await count(session, "inbox_deliveries", org) == 1


# --- Standard Webhooks (web_form / partner) ---------------------------------------------


def signed(body: bytes, secret: str, msg_id: str, ts: int | None = None) -> dict[str, str]:
    ts = ts or int(time.time())
    return {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(ts),
        "webhook-signature": sign_standard_webhook(msg_id, ts, body, secret),
    }


async def test_signed_web_form_and_resubmission(client: httpx.AsyncClient, org: Org) -> None:
    old, new = generate_whsec(), generate_whsec()
    source = await create_source(client, org, "web_form", {"secrets": [new, old]})
    body = fixture("api_lead.json")
    r1 = await client.post(webhook_path(source), content=body, headers=signed(body, old, "msg_1"))
    assert r1.status_code == 200, r1.text
    first = r1.json()["leads"][0]
    assert first["resubmission"] is False
    # the same person again, new message: a resubmission of the same lead
    body2 = body.replace(b"partner-7781", b"partner-7782")
    r2 = await client.post(webhook_path(source), content=body2, headers=signed(body2, new, "msg_2"))
    assert r2.json()["leads"][0] == {**first, "resubmission": True} | {
        k: v for k, v in r2.json()["leads"][0].items() if k not in first
    }
    lead = await lead_detail(client, org, first["lead_id"])
    assert len(lead["submissions"]) == 2 and lead["resubmission_count"] == 1


async def _committed_count(engine: AsyncEngine, table: str, org: Org) -> int:
    async with AsyncSession(engine) as s:
        return await count(s, table, org)


@pytest.mark.parametrize(
    "body",
    [
        fixture("api_lead.json"),
        b'{"first_name": "Ann"}',  # quarantined: no phone or email
    ],
    ids=["lead", "quarantined"],
)
async def test_concurrent_redeliveries_store_one_delivery_with_one_answer(
    client: httpx.AsyncClient, org: Org, engine: AsyncEngine, body: bytes
) -> None:
    """A sender retrying while its first attempt is still being processed."""
    secret = generate_whsec()
    source = await create_source(client, org, "web_form", {"secrets": [secret]})
    headers = signed(body, secret, "retried-1")
    answers = await asyncio.gather(
        *(client.post(webhook_path(source), content=body, headers=headers) for _ in range(6))
    )
    first = answers[0]
    for r in answers:
        assert (r.status_code, r.json()) == (first.status_code, first.json()), r.text
        assert r.headers["content-type"] == first.headers["content-type"]
    # one attempt did the work; every other one is told it got the stored answer
    replayed = [r.headers.get("Idempotent-Replayed") for r in answers]
    assert sorted(replayed, key=str) == [None] + ["true"] * 5
    assert await _committed_count(engine, "inbox_deliveries", org) == 1
    leads = 1 if first.status_code == 200 else 0
    assert await _committed_count(engine, "leads", org) == leads
    assert await _committed_count(engine, "lead_submissions", org) == leads


async def test_retry_of_a_stored_delivery_is_answered_before_any_routing(
    client: httpx.AsyncClient, org: Org, engine: AsyncEngine
) -> None:
    """The retry of a queued lead's delivery, once a member is free, takes no member: it is
    answered from the stored delivery, not routed again (a member chosen by routing's own
    transaction would stay claimed though the retry is rolled back)."""
    team = await make_team(client, org)
    await publish_rules(client, org, [default_rule(team["id"])])
    secret = generate_whsec()
    source = await create_source(client, org, "web_form", {"secrets": [secret]})
    body = fixture("api_lead.json")
    headers = signed(body, secret, "retried-2")
    first = await client.post(webhook_path(source), content=body, headers=headers)
    assert first.json()["leads"][0]["routing_status"] == "queued", first.text
    await add_member(client, org, team["id"], "Ana")

    again = await client.post(webhook_path(source), content=body, headers=headers)

    assert (again.status_code, again.json()) == (first.status_code, first.json())
    assert await _committed_count(engine, "routing_claims", org) == 0
    lead = await get_lead(client, org, first.json()["leads"][0]["lead_id"])
    assert lead["routing"]["member_id"] is None and lead["resubmission_count"] == 0


@pytest.mark.parametrize(
    "tamper",
    ["body", "secret", "stale", "future", "missing"],
)
async def test_web_form_bad_signatures_are_401(
    client: httpx.AsyncClient, org: Org, session: AsyncSession, tamper: str
) -> None:
    secret = generate_whsec()
    source = await create_source(client, org, "web_form", {"secrets": [secret]})
    body = fixture("api_lead.json")
    # Well clear of the 300 s tolerance, so a slow second cannot bring them back inside it.
    ts = int(time.time()) + {"stale": -360, "future": 360}.get(tamper, 0)
    headers = signed(body, generate_whsec() if tamper == "secret" else secret, "m", ts)
    if tamper == "missing":
        headers.pop("webhook-signature")
    sent = body + b" " if tamper == "body" else body
    r = await client.post(webhook_path(source), content=sent, headers=headers)
    assert r.status_code == 401 and r.headers["content-type"] == PROBLEM
    assert await count(session, "inbox_deliveries", org) == 0


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b'{"first_name": "x", ', "application/json"),  # malformed JSON
        (b'{"first_name": "\xff\xfe"}', "application/json"),  # invalid UTF-8
        (b'{"first_name": "Ann"}', "application/json"),  # no phone or email
        (b"[1, 2]", "application/json"),  # not an object
    ],
)
async def test_unparseable_signed_delivery_is_quarantined_not_lost(
    client: httpx.AsyncClient, org: Org, session: AsyncSession, body: bytes, content_type: str
) -> None:
    secret = generate_whsec()
    source = await create_source(client, org, "web_form", {"secrets": [secret]})
    r = await client.post(
        webhook_path(source),
        content=body,
        headers=signed(body, secret, "bad-1") | {"content-type": content_type},
    )
    assert r.status_code == 422 and r.headers["content-type"] == PROBLEM
    assert await count(session, "leads", org) == 0
    listed = (
        await client.get("/v1/inbox", params={"status": "quarantined"}, headers=org.headers)
    ).json()["data"]
    assert [d["id"] for d in listed] == [r.json()["inbox_id"]]
    assert listed[0]["reason"]


async def test_quarantined_delivery_is_replayed_after_the_mapping_is_fixed(
    client: httpx.AsyncClient, org: Org
) -> None:
    secret = generate_whsec()
    source = await create_source(client, org, "partner", {"secrets": [secret]})
    body = json.dumps({"fname": "Ann", "mobile": "+1 312 555 0142", "zip": "60611"}).encode()
    r = await client.post(webhook_path(source), content=body, headers=signed(body, secret, "p-1"))
    assert r.status_code == 422
    inbox_id = r.json()["inbox_id"]
    patch = {"mapping": {"fname": "first_name", "mobile": "phone", "zip": "postal_code"}}
    assert (
        await client.patch(f"/v1/sources/{source['id']}", json=patch, headers=org.headers)
    ).status_code == 200
    replayed = await client.post(f"/v1/inbox/{inbox_id}/replay", headers=org.headers)
    assert replayed.status_code == 200, replayed.text
    lead = await lead_detail(client, org, replayed.json()["leads"][0]["lead_id"])
    assert lead["contact"]["phone"] == "+13125550142"
    again = await client.post(f"/v1/inbox/{inbox_id}/replay", headers=org.headers)
    assert again.status_code == 409
    # The mapping adds names: a delivery that says `phone` is still a lead, not quarantined.
    body = json.dumps({"fname": "Bea", "phone": "+1 312 555 0143"}).encode()
    r = await client.post(webhook_path(source), content=body, headers=signed(body, secret, "p-2"))
    assert r.status_code == 200, r.text
    lead = await lead_detail(client, org, r.json()["leads"][0]["lead_id"])
    assert lead["contact"]["phone"] == "+13125550143"


async def test_delivery_that_fails_midway_is_quarantined_and_nothing_half_written(
    client: httpx.AsyncClient, org: Org, session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug after the lead's rows are written: they go, the delivery stays, and a replay
    once the bug is gone makes the lead."""
    secret = generate_whsec()
    source = await create_source(client, org, "web_form", {"secrets": [secret]})
    body = fixture("api_lead.json")

    async def broken(*args: object) -> None:
        raise RuntimeError("a bug in the last step")

    monkeypatch.setattr(flow, "emit", broken)
    r = await client.post(webhook_path(source), content=body, headers=signed(body, secret, "f-1"))
    assert r.status_code == 422 and r.headers["content-type"] == PROBLEM
    assert r.json()["type"].endswith("/processing-failed")
    for table in ("leads", "lead_submissions", "consent_events"):
        assert await count(session, table, org) == 0, table
    again = await client.post(
        webhook_path(source), content=body, headers=signed(body, secret, "f-1")
    )
    assert (again.status_code, again.json()) == (422, r.json())
    [stored] = (
        await client.get("/v1/inbox", params={"status": "quarantined"}, headers=org.headers)
    ).json()["data"]
    assert stored["reason"] == "processing failed (RuntimeError)"

    monkeypatch.undo()
    replayed = await client.post(f"/v1/inbox/{stored['id']}/replay", headers=org.headers)
    assert replayed.status_code == 200, replayed.text
    assert replayed.json()["leads"][0]["resubmission"] is False
    assert await count(session, "leads", org) == 1


async def test_ten_mebibyte_body_is_413(client: httpx.AsyncClient, org: Org) -> None:
    secret = generate_whsec()
    source = await create_source(client, org, "web_form", {"secrets": [secret]})
    body = b"{" + b" " * (10 * 1024 * 1024) + b"}"
    r = await client.post(webhook_path(source), content=body, headers=signed(body, secret, "big"))
    assert r.status_code == 413 and r.headers["content-type"] == PROBLEM


# --- Typeform, Unbounce, CallRail --------------------------------------------------------

TYPEFORM_WITH_UTM = {
    **TYPEFORM_MAPPING,
    "utm_source": "attribution.utm_source",
    "utm_campaign": "attribution.utm_campaign",
}


async def test_typeform_signed_and_mapped(client: httpx.AsyncClient, org: Org) -> None:
    source = await create_source(
        client, org, "typeform", {"secret": "tf-secret-123"}, mapping=TYPEFORM_WITH_UTM
    )
    body = fixture("typeform_response.json")
    r = await client.post(
        webhook_path(source),
        content=body,
        headers={
            "content-type": "application/json",
            "typeform-signature": "sha256=" + b64_hmac(body, "tf-secret-123"),
        },
    )
    assert r.status_code == 200, r.text
    lead = await lead_detail(client, org, r.json()["leads"][0]["lead_id"])
    assert lead["contact"]["last_name"] == "Gonzalez"
    assert lead["request"]["new_patient"] is True
    assert lead["attribution"].get("utm_source")


async def test_unmapped_typeform_is_quarantined(client: httpx.AsyncClient, org: Org) -> None:
    source = await create_source(client, org, "typeform", {"secret": "tf-secret-123"})
    body = fixture("typeform_response.json")
    r = await client.post(
        webhook_path(source),
        content=body,
        headers={"typeform-signature": "sha256=" + b64_hmac(body, "tf-secret-123")},
    )
    assert r.status_code == 422 and r.headers["content-type"] == PROBLEM
    assert "mapping" in r.json()["detail"]


async def test_unbounce_form_with_url_token(client: httpx.AsyncClient, org: Org) -> None:
    source = await create_source(client, org, "unbounce", {"secret": "ub-token-0123456789"})
    body = fixture("unbounce_body.txt")
    form = {"content-type": "application/x-www-form-urlencoded"}
    bad = await client.post(webhook_path(source) + "?token=nope", content=body, headers=form)
    assert bad.status_code == 401
    r = await client.post(
        webhook_path(source) + "?token=ub-token-0123456789", content=body, headers=form
    )
    assert r.status_code == 200, r.text
    lead = await lead_detail(client, org, r.json()["leads"][0]["lead_id"])
    assert lead["contact"]["phone"] == "+17735550119"
    assert lead["location_facts"]["postal_code"] == "60647"


async def test_callrail_first_call_is_a_phone_lead_and_repeat_caller_is_linked(
    client: httpx.AsyncClient, org: Org
) -> None:
    source = await create_source(client, org, "call_tracking", {"signing_key": "cr-signing-key"})
    body = fixture("callrail_post_call.json")
    headers = {
        "content-type": "application/json",
        "signature": b64_hmac(body, "cr-signing-key", hashlib.sha1),
    }
    r = await client.post(webhook_path(source), content=body, headers=headers)
    assert r.status_code == 200, r.text
    lead_id = r.json()["leads"][0]["lead_id"]
    assert (await lead_detail(client, org, lead_id))["channel"] == "phone_call"
    doc = json.loads(body)
    doc["resource_id"] = "CAL" + "0" * 35
    body2 = json.dumps(doc).encode()
    headers["signature"] = b64_hmac(body2, "cr-signing-key", hashlib.sha1)
    r2 = await client.post(webhook_path(source), content=body2, headers=headers)
    assert r2.json()["leads"][0]["lead_id"] == lead_id
    assert r2.json()["leads"][0]["resubmission"] is True
    wrong = await client.post(
        webhook_path(source), content=body, headers={**headers, "signature": "AAAA"}
    )
    assert wrong.status_code == 401


# --- Meta ----------------------------------------------------------------------------------

META_SETTINGS = {
    "app_secret": "meta-app-secret",
    "verify_token": "verify-me-please",
    "access_token": "EAAB-page-token",
}


async def test_meta_handshake(client: httpx.AsyncClient, org: Org) -> None:
    source = await create_source(client, org, "meta_lead_ads", META_SETTINGS)
    ok = await client.get(
        webhook_path(source),
        params={
            "hub.mode": "subscribe",
            "hub.verify_token": "verify-me-please",
            "hub.challenge": "1158201444",
        },
    )
    assert ok.status_code == 200 and ok.text == "1158201444"
    bad = await client.get(
        webhook_path(source),
        params={"hub.mode": "subscribe", "hub.verify_token": "nope", "hub.challenge": "1"},
    )
    assert bad.status_code == 403


def _graph(graph_lead: dict[str, Any], fail: set[str]) -> Any:
    def respond(req: Any) -> tuple[int, Any]:
        leadgen_id = req.path.split("?")[0].rsplit("/", 1)[-1]
        if leadgen_id in fail or "access_token=EAAB-page-token" not in req.path:
            return 500, {"error": {"message": "unavailable"}}
        return 200, {
            **graph_lead,
            "id": leadgen_id,
            "field_data": [
                *graph_lead["field_data"],
                {"name": "email", "values": [f"p{leadgen_id}@example.com"]},
                {"name": "phone_number", "values": [f"+1312555{leadgen_id[-4:]}"]},
            ],
        }

    return respond


async def run_jobs(engine: AsyncEngine) -> int:
    maker = async_sessionmaker(engine, expire_on_commit=False)
    return await worker.run_once(maker, kinds=["meta.retrieve"])


async def test_meta_delivery_retrieves_leads_from_the_graph_api(
    client: httpx.AsyncClient, org: Org, engine: AsyncEngine, session: AsyncSession
) -> None:
    graph_lead = json.loads(fixture("meta_graph_lead.json"))
    graph_lead["field_data"] = [
        f for f in graph_lead["field_data"] if f["name"] not in ("email", "phone_number")
    ]
    with serve(_graph(graph_lead, fail={"2345678901234567"})) as graph:
        source = await create_source(
            client, org, "meta_lead_ads", {**META_SETTINGS, "graph_base_url": graph.url}
        )
        body = fixture("meta_leadgen_batch.json")
        wrong = await client.post(
            webhook_path(source),
            content=body,
            headers={"x-hub-signature-256": hub_signature(body, "other")},
        )
        assert wrong.status_code == 401
        r = await client.post(
            webhook_path(source),
            content=body,
            headers={
                "content-type": "application/json",
                "x-hub-signature-256": hub_signature(body, "meta-app-secret"),
            },
        )
        assert r.status_code == 200, r.text
        leads = r.json()["leads"]
        assert len(leads) == 4 and {x["status"] for x in leads} == {"pending_retrieval"}
        assert await run_jobs(engine) == 4
    by_ext = dict(
        (
            await session.execute(
                text("SELECT external_id, status FROM leads WHERE organization_id = :o"),
                {"o": org.id},
            )
        ).all()
    )
    # a 2^53+ id keeps every digit; the failing retrieval is kept, not dropped
    assert by_ext["9007199254740993123"] == "new"
    assert by_ext["2345678901234567"] == "pending_retrieval"
    lead_id = next(x["lead_id"] for x in leads)
    lead = await lead_detail(client, org, lead_id)
    assert lead["attribution"]["campaign"] == "Ortho Q1 Lead Gen"
    assert lead["attribution"]["ad"] == "Knee pain - carousel - 45+"
    job = (
        await session.execute(
            text(
                "SELECT status, attempts, last_error FROM jobs "
                "WHERE payload->>'leadgen_id' = '2345678901234567'"
            )
        )
    ).one()
    assert job.status == "queued" and job.attempts == 1 and "500" in job.last_error


async def test_meta_change_without_leadgen_id_is_quarantined_with_200(
    client: httpx.AsyncClient, org: Org
) -> None:
    source = await create_source(client, org, "meta_lead_ads", META_SETTINGS)
    body = json.dumps(
        {
            "object": "page",
            "entry": [
                {
                    "id": "1",
                    "time": 1,
                    "changes": [{"field": "leadgen", "value": {"page_id": "1", "form_id": "2"}}],
                }
            ],
        }
    ).encode()
    r = await client.post(
        webhook_path(source),
        content=body,
        headers={"x-hub-signature-256": hub_signature(body, "meta-app-secret")},
    )
    # Meta retries non-2xx for 36 hours; the delivery is stored and answered 200
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    assert "leadgen_id" in r.json()["detail"]
    listed = (
        await client.get("/v1/inbox", params={"status": "quarantined"}, headers=org.headers)
    ).json()["data"]
    assert len(listed) == 1


async def test_raw_bodies_and_settings_are_encrypted(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    source = await create_source(
        client, org, "google_ads_lead_form", {"google_key": "prod-form-key-7f3a9c"}
    )
    await client.post(webhook_path(source), content=fixture("google_lead.json"))
    dump = "\n".join(
        r[0]
        for r in await session.execute(
            text(
                "SELECT i::text FROM inbox_deliveries i WHERE organization_id = :org"
                " UNION ALL SELECT s::text FROM sources s WHERE organization_id = :org"
                " UNION ALL SELECT l::text FROM leads l WHERE organization_id = :org"
            ),
            # This test's rows only: every test's committed ciphertext would sooner or later
            # hold one of the strings below as hex digits by chance.
            {"org": org.id},
        )
    )
    for secret in ("Jordan", "5550119", "jordan.lee", "prod-form-key"):
        assert secret.lower() not in dump.lower()
