"""Evidence levels (47 CFR 64.1200(f)(9); 16 CFR 310.5(a)(8)) and the healthcare exemption's limits.

A consent block without the disclosure, the seller, and the capture time with IP,
user agent or page URL (or a TrustedForm / Jornaya token) is not written consent.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import Org
from tests.consent.helpers import consent_of, eligibility, new_lead, rules
from tests.intake.helpers import person, post_lead
from tests.outreach.helpers import at, attempt, backdate, post_attempt, problem_type

THIN = {"checked": True, "disclosure_text": "ok to call"}
WORDING = "I agree that Lakeside Orthopedics may call or text me, including by autodialer."


def _full(**extra: Any) -> dict[str, Any]:
    return {
        "checked": True,
        "disclosure_text": WORDING,
        "seller": "Lakeside Orthopedics",
        "captured_at": "2025-03-14T15:04:37Z",
        "page_url": "https://www.lakesideortho.example/book",
        "channels": ["voice", "sms"],
        "purposes": ["scheduling", "marketing"],
        **extra,
    }


def _no_submitted_at(n: int, consent: dict[str, Any] | None) -> dict[str, Any]:
    body = person(n, consent=consent)
    body.pop("submitted_at", None)
    return body


async def test_a_thin_checkbox_is_incomplete_and_marketing_is_refused_naming_what_is_missing(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    """`{"checked": true, "disclosure_text": "ok to call"}` is not written consent."""
    r = await post_lead(client, org, _no_submitted_at(8201, THIN))
    assert r.status_code == 201, r.text
    assert r.json()["consent"]["channels"]["voice"] == "incomplete"
    lead_id = r.json()["lead_id"]
    view = await consent_of(client, org, lead_id)
    assert {e["decision"] for e in view["events"]} == {"incomplete"}
    now = view["current"]["voice"]["scheduling"]
    assert now["status"] == "incomplete"
    assert now["missing"] == ["seller", "captured_at", "capture_context"]
    assert view["events"][0]["missing"] == ["seller", "captured_at", "capture_context"]

    await backdate(session, lead_id)
    refused = await post_attempt(
        client, org, lead_id, attempt("no_answer", at(16), purpose="marketing")
    )
    assert refused.status_code == 422 and problem_type(refused) == "no-consent"
    assert refused.json()["missing_evidence"] == ["seller", "captured_at", "capture_context"]
    assert "seller, captured_at, capture_context" in refused.json()["detail"]
    texts = await post_attempt(
        client, org, lead_id, attempt("sms_sent", at(16), channel="sms", purpose="marketing")
    )
    assert texts.status_code == 422 and problem_type(texts) == "no-consent"


async def test_each_missing_piece_is_named(client: httpx.AsyncClient, org: Org) -> None:
    cases = [
        (_full(seller=None), ["seller"]),
        (_full(page_url=None), ["capture_context"]),
        (_full(disclosure_text=None), ["disclosure"]),
    ]
    for n, (consent, missing) in enumerate(cases, start=8202):
        lead_id = await new_lead(client, org, n, consent=consent)
        view = await consent_of(client, org, lead_id)
        assert view["current"]["sms"]["marketing"]["missing"] == missing, consent
        assert view["current"]["sms"]["marketing"]["status"] == "incomplete"
    # no stated time: the capture time is missing (our receipt time proves nothing)
    r = await post_lead(client, org, _no_submitted_at(8205, _full(captured_at=None)))
    view = await consent_of(client, org, r.json()["lead_id"])
    assert view["current"]["voice"]["marketing"]["missing"] == ["captured_at"]


@pytest.mark.parametrize(
    "token",
    [
        {"certificate_url": "https://cert.trustedform.com/0123456789abcdef"},
        {"leadid_token": "3F2504E0-4F89-11D3-9A0C-0305E82C3301"},
    ],
)
async def test_a_trustedform_or_jornaya_token_stands_for_time_and_place(
    client: httpx.AsyncClient, org: Org, token: dict[str, str]
) -> None:
    consent = _full(page_url=None, captured_at=None, **token)
    r = await post_lead(client, org, _no_submitted_at(8206, consent))
    assert r.json()["consent"]["channels"]["voice"] == "granted", r.text
    view = await consent_of(client, org, r.json()["lead_id"])
    assert view["current"]["voice"]["marketing"] == {
        **view["current"]["voice"]["marketing"], "status": "granted", "missing": []
    }  # fmt: skip


async def test_complete_evidence_allows_marketing(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    lead_id = await new_lead(client, org, 8207, consent=_full())
    decision = await eligibility(client, org, lead_id, "voice")
    assert decision["allowed"] is True and decision["basis"] == "written_consent"
    await backdate(session, lead_id)
    r = await post_attempt(client, org, lead_id, attempt("no_answer", at(16), purpose="marketing"))
    assert r.status_code == 201, r.text


async def test_scheduling_without_written_consent_keeps_to_the_exemptions_limits(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    """Healthcare exemption (FCC 15-72): 1 call or text a day, 3 a week."""
    lead_id = await new_lead(client, org, 8208, consent=THIN)
    decision = await eligibility(client, org, lead_id, "voice")
    assert decision["allowed"] is True and decision["basis"] == "healthcare_exemption"
    await backdate(session, lead_id, dt.datetime(2025, 3, 10, tzinfo=dt.UTC))
    day = dt.datetime(2025, 3, 10, 16, tzinfo=dt.UTC)  # Monday, 11:00 in Chicago

    def on(days: float) -> str:
        return (day + dt.timedelta(days=days)).isoformat()

    first = await post_attempt(client, org, lead_id, attempt("no_answer", on(0)))
    assert first.status_code == 201, first.text
    assert first.json()["rules_version"]
    same_day = await post_attempt(client, org, lead_id, attempt("sms_sent", on(0.1), channel="sms"))
    assert same_day.status_code == 422 and problem_type(same_day) == "attempt-cap"
    assert "healthcare exemption" in same_day.json()["detail"]
    assert same_day.json()["next_allowed_at"] == "2025-03-11T16:00:00+00:00"
    for days in (1, 2):
        r = await post_attempt(client, org, lead_id, attempt("no_answer", on(days)))
        assert r.status_code == 201, r.text
    fourth = await post_attempt(client, org, lead_id, attempt("no_answer", on(3)))
    assert fourth.status_code == 422 and "3 call or text a week" in fourth.json()["detail"]
    assert fourth.json()["next_allowed_at"] == "2025-03-17T16:00:00+00:00"


async def test_no_wording_no_exemption(client: httpx.AsyncClient, org: Org) -> None:
    """A box ticked with no wording held proves nothing, not even for scheduling."""
    lead_id = await new_lead(client, org, 8209, consent={"checked": True})
    decision = await eligibility(client, org, lead_id, "voice")
    assert rules(decision) == ["no-consent"] and "disclosure" in decision["missing_evidence"]
