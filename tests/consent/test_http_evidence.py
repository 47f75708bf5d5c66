"""Consent evidence captured at intake: byte-exact disclosures, append-only events."""

from __future__ import annotations

import hashlib
import time
import uuid

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from app.signatures import generate_whsec, sign_standard_webhook
from tests.conftest import Org
from tests.consent.helpers import consent_of, eligibility, new_lead, rules
from tests.intake.helpers import create_source, person, post_lead

# Trailing spaces, a CRLF, a tab, a non-breaking space, a combining accent and an emoji.
TRICKY = (
    "By clicking Submit I agree that Lakeside Ortho\u0301 may call or text me  \r\n"
    "at the number above\u00a0using an autodialer.\tNot a condition of purchase. \U0001f4de  \n\n"
)


def _consent(disclosure: str, **extra: object) -> dict[str, object]:
    return {
        "checked": True,
        "disclosure_text": disclosure,
        "channels": ["voice", "sms"],
        "purposes": ["scheduling", "marketing"],
        "captured_at": "2025-03-14T15:04:37Z",
        "ip": "203.0.113.42",
        "user_agent": "Mozilla/5.0",
        "page_url": "https://www.lakesideortho.example/book",
        "certificate_url": "https://cert.trustedform.com/0123456789abcdef",
        "leadid_token": "3F2504E0-4F89-11D3-9A0C-0305E82C3301",
        "method": "web_form",
        "seller": "Lakeside Orthopedics",
        **extra,
    }


async def test_stored_disclosure_is_byte_identical(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    lead_id = await new_lead(client, org, 201, consent=_consent(TRICKY))
    view = await consent_of(client, org, lead_id)
    [disclosure] = view["disclosures"]
    assert disclosure["text"] == TRICKY
    assert disclosure["sha256"] == hashlib.sha256(TRICKY.encode()).hexdigest()
    stored = await session.scalar(
        text("SELECT text FROM consent_disclosures WHERE id = :id"), {"id": disclosure["id"]}
    )
    assert bytes(stored) == TRICKY.encode("utf-8")


async def test_disclosure_is_stored_once_across_leads(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    first = await new_lead(client, org, 202, consent=_consent(TRICKY))
    second = await new_lead(client, org, 203, consent=_consent(TRICKY))
    a, b = [await consent_of(client, org, x) for x in (first, second)]
    assert a["disclosures"][0]["id"] == b["disclosures"][0]["id"]
    assert a["disclosures"][0]["version"] == "v1"
    count = await session.scalar(
        text("SELECT count(*) FROM consent_disclosures WHERE organization_id = :org"),
        {"org": org.id},
    )
    assert count == 1
    # one changed character is another version
    third = await new_lead(client, org, 204, consent=_consent(TRICKY.rstrip()))
    assert (await consent_of(client, org, third))["disclosures"][0]["version"] == "v2"


async def test_events_carry_the_evidence(client: httpx.AsyncClient, org: Org) -> None:
    lead_id = await new_lead(client, org, 205, consent=_consent(TRICKY))
    view = await consent_of(client, org, lead_id)
    assert len(view["events"]) == 4  # two channels x two purposes
    event = view["events"][0]
    assert event["decision"] == "granted" and event["origin"] == "lead"
    assert event["seller"] == "Lakeside Orthopedics" and event["method"] == "web_form"
    assert event["captured_at"].startswith("2025-03-14T15:04:37")
    assert event["retain_until"] > "2030-03-14"
    assert event["evidence"] == {
        "phone": "+13125550205",
        "email": "person205@example.com",
        "ip": "203.0.113.42",
        "user_agent": "Mozilla/5.0",
        "page_url": "https://www.lakesideortho.example/book",
        "certificate_url": "https://cert.trustedform.com/0123456789abcdef",
        "leadid_token": "3F2504E0-4F89-11D3-9A0C-0305E82C3301",
    }
    assert view["current"]["sms"]["marketing"]["status"] == "granted"
    assert "email" not in view["current"]


async def test_intake_answer_summarises_consent(client: httpx.AsyncClient, org: Org) -> None:
    r = await post_lead(client, org, person(206))
    assert r.json()["consent"] == {
        "status": "granted",
        "channels": {"voice": "granted", "sms": "granted", "email": "none"},
        "do_not_contact": [],
    }
    no_text = await post_lead(client, org, person(207, consent={"checked": True}))
    assert no_text.json()["consent"]["status"] == "none"
    assert no_text.json()["consent"]["channels"]["voice"] == "incomplete"
    unticked = await post_lead(client, org, person(208, consent=_consent("x", checked=False)))
    assert unticked.json()["consent"]["channels"]["sms"] == "denied"
    lead_id = no_text.json()["lead_id"]
    assert rules(await eligibility(client, org, lead_id, "voice")) == ["no-consent"]


async def test_resubmission_records_new_evidence(client: httpx.AsyncClient, org: Org) -> None:
    lead_id = await new_lead(client, org, 209)
    again = await post_lead(client, org, {**person(209), "external_id": "p-209-b"})
    assert again.status_code == 200 and again.json()["resubmission"] is True
    assert len((await consent_of(client, org, lead_id))["events"]) == 4


async def test_form_settings_supply_the_wording_a_delivery_lacks(
    client: httpx.AsyncClient, org: Org
) -> None:
    secret = generate_whsec()
    wording = "Sí, Lakeside may text me about my appointment.\n"
    form = {"disclosure_text": wording, "seller": "Lakeside", "channels": ["sms"],
            "form_id": "book-v3", "version": "2025-03"}  # fmt: skip
    source = await create_source(client, org, "web_form", {"secrets": [secret], "consent": form})
    body = httpx.Request("POST", "/", json=person(210, consent={"checked": True})).content
    ts, msg = int(time.time()), "msg-210"
    headers = {
        "content-type": "application/json",
        "webhook-id": msg,
        "webhook-timestamp": str(ts),
        "webhook-signature": sign_standard_webhook(msg, ts, body, secret),
    }
    r = await client.post(f"/v1/webhooks/{source['id']}", content=body, headers=headers)
    assert r.status_code == 200, r.text
    lead_id = r.json()["leads"][0]["lead_id"]
    view = await consent_of(client, org, lead_id)
    assert [d["text"] for d in view["disclosures"]] == [wording]
    assert view["disclosures"][0]["version"] == "2025-03"
    assert {(e["channel"], e["origin"], e["seller"]) for e in view["events"]} == {
        ("sms", "source_settings", "Lakeside")
    }


async def test_evidence_outlives_the_lead(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    lead_id = await new_lead(client, org, 211, consent=_consent(TRICKY))
    await session.execute(text("DELETE FROM leads WHERE id = :id"), {"id": lead_id})
    rows = (
        await session.execute(
            text(
                "SELECT lead_id, phone_hash, disclosure_id FROM consent_events"
                " WHERE organization_id = :org"
            ),
            {"org": org.id},
        )
    ).all()
    assert len(rows) == 4
    assert all(r.lead_id is None and r.phone_hash and r.disclosure_id for r in rows)


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE consent_events SET decision = 'revoked'",
        "UPDATE consent_events SET lead_id = NULL, decision = 'denied'",
        "DELETE FROM consent_events",
    ],
)
async def test_consent_events_are_append_only(
    client: httpx.AsyncClient, org: Org, session: AsyncSession, statement: str
) -> None:
    await new_lead(client, org, 212)
    with pytest.raises(DBAPIError, match="append-only"):
        async with session.begin_nested():
            await session.execute(
                text(statement + " WHERE organization_id = :org"), {"org": org.id}
            )


async def test_consent_of_another_organisations_lead_is_404(
    client: httpx.AsyncClient, org: Org, other_org: Org
) -> None:
    lead_id = await new_lead(client, org, 213)
    r = await client.get(f"/v1/leads/{lead_id}/consent", headers=other_org.headers)
    assert r.status_code == 404
    r = await client.get(f"/v1/leads/{uuid.uuid4()}/consent", headers=org.headers)
    assert r.status_code == 404


async def test_reading_consent_is_audited(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    lead_id = await new_lead(client, org, 214)
    await consent_of(client, org, lead_id)
    # this organisation's: tests that commit leave audit events of their own
    target = await session.scalar(
        text(
            "SELECT target_id FROM audit_events WHERE action = 'consent.read'"
            " AND organization_id = :org"
        ),
        {"org": org.id},
    )
    assert target == lead_id
