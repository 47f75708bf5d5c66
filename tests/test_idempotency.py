"""`Idempotency-Key` on every request that creates something."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.main import create_app
from tests.conftest import Org, make_settings
from tests.consent.helpers import new_lead
from tests.outreach.helpers import at, attempt, backdate, problem_type

# Creating without a key stays possible; these take none: a sender's webhook (the sender's
# event id is its key), a simulation (creates nothing), the console's forms (a person
# signed in, not an integrator).
NOT_CREATES = {"/v1/webhooks/{source_id}", "/v1/routing/simulate"}


def _key(value: str, org: Org) -> dict[str, str]:
    return {**org.headers, "Idempotency-Key": value}


async def test_every_create_documents_the_idempotency_key() -> None:
    spec = create_app(make_settings()).openapi()
    missing = []
    for path, ops in spec["paths"].items():
        post = ops.get("post")
        if post is None or path in NOT_CREATES or not path.startswith("/v1/"):
            continue
        headers = {p["name"] for p in post.get("parameters", []) if p["in"] == "header"}
        if "Idempotency-Key" not in headers:
            missing.append(path)
    assert missing == []


async def test_a_retried_contact_attempt_is_recorded_once_with_the_same_answer(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    """The same key and body twice: one attempt, the same answer; another: 422."""
    lead_id = await new_lead(client, org, 8401)
    await backdate(session, lead_id)
    url = f"/v1/leads/{lead_id}/contact-attempts"
    body = attempt("no_answer", at(16))
    first = await client.post(url, json=body, headers=_key("dial-1", org))
    again = await client.post(url, json=body, headers=_key("dial-1", org))
    assert first.status_code == again.status_code == 201, first.text
    assert first.json() == again.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    listed = await client.get(url, headers=org.headers)
    assert [a["id"] for a in listed.json()["data"]] == [first.json()["id"]]

    other = await client.post(url, json=attempt("connected", at(16)), headers=_key("dial-1", org))
    assert other.status_code == 422 and problem_type(other) == "idempotency-key-reused"
    # the same key on another route is another request too
    elsewhere = await client.post(
        "/v1/consent/revocations",
        json={"lead_id": lead_id, "channel": "sms", "via": "agent"},
        headers=_key("dial-1", org),
    )
    assert elsewhere.status_code == 422 and problem_type(elsewhere) == "idempotency-key-reused"
    assert len((await client.get(url, headers=org.headers)).json()["data"]) == 1


async def test_a_retried_revocation_records_its_evidence_once(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    lead_id = await new_lead(client, org, 8402)
    body = {"lead_id": lead_id, "words": "STOP", "via": "sms_reply"}
    answers = [
        await client.post("/v1/consent/revocations", json=body, headers=_key("stop-1", org))
        for _ in range(2)
    ]
    assert [a.status_code for a in answers] == [201, 201]
    assert answers[0].json() == answers[1].json()
    revoked = await session.scalar(
        text("SELECT count(*) FROM consent_events WHERE lead_id = :l AND decision = 'revoked'"),
        {"l": lead_id},
    )
    assert revoked == 2  # SMS for scheduling and marketing, once


async def test_a_retried_spend_import_counts_once(client: httpx.AsyncClient, org: Org) -> None:
    rows: list[dict[str, Any]] = [
        {"date": "2026-01-05", "source": "meta", "campaign": "spring", "amount": "120.00",
         "currency": "USD"},
    ]  # fmt: skip
    first = await client.post("/v1/spend", json=rows, headers=_key("spend-jan", org))
    again = await client.post("/v1/spend", json=rows, headers=_key("spend-jan", org))
    assert first.status_code == again.status_code == 200, first.text
    assert first.json() == again.json()
    # The organisation has no lead from `meta` yet: the answer names the spend as unmatched.
    assert {k: first.json()[k] for k in ("stored", "days", "replaced")} == {
        "stored": 1, "days": 1, "replaced": 0,
    }  # fmt: skip
    assert [u["source"] for u in first.json()["unmatched"]] == ["meta"]
    assert again.headers["Idempotent-Replayed"] == "true"


async def test_a_stored_answer_with_a_secret_is_encrypted(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    body = {"url": "https://hooks.example.com/lr", "event_types": ["lead.received"]}
    first = await client.post("/v1/webhook-subscriptions", json=body, headers=_key("sub", org))
    again = await client.post("/v1/webhook-subscriptions", json=body, headers=_key("sub", org))
    assert first.status_code == again.status_code == 201, first.text
    assert first.json() == again.json()
    listed = await client.get("/v1/webhook-subscriptions", headers=org.headers)
    assert len(listed.json()["data"]) == 1
    row = (
        await session.execute(
            text("SELECT response_body, response_enc FROM idempotency_keys WHERE key = 'sub'")
        )
    ).one()
    assert row.response_body is None
    assert first.json()["secret"].encode() not in bytes(row.response_enc)


async def test_an_overlong_key_is_refused(client: httpx.AsyncClient, org: Org) -> None:
    r = await client.post("/v1/leads", json={"phone": "+13125550199"}, headers=_key("k" * 256, org))
    assert r.status_code == 422
