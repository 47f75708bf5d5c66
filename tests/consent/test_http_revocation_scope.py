"""The revocation's scope under the revoke-all rule (47 CFR 64.1200(a)(10)), and the one
opt-out confirmation text (item 12)."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import httpx
import pytest

from app.consent.revocation import scope
from app.consent.schemas import RevocationIn
from tests.conftest import ClientWith, Org, make_settings
from tests.consent.helpers import consent_of, eligibility, new_lead, revoke, rules
from tests.outreach.helpers import post_attempt, problem_type


@pytest.mark.parametrize(
    ("body", "revoke_all", "channels", "purposes"),
    [
        ({"channel": "sms", "purpose": "marketing"}, False, ["sms"], ["marketing"]),
        ({"channel": "sms", "purpose": "marketing"}, True, ["voice", "sms"], None),
        ({"channel": "voice", "purpose": "all"}, False, ["voice"], None),
        ({"channel": "email", "purpose": "marketing"}, True, ["email"], ["marketing"]),
        ({"words": "STOP", "via": "sms_reply"}, True, ["voice", "sms"], None),
        ({"words": "STOP", "via": "sms_reply"}, False, ["sms"], None),
    ],
)
def test_revoke_all_widens_a_call_or_text_opt_out_to_every_purpose(
    body: dict[str, str], revoke_all: bool, channels: list[str], purposes: list[str] | None
) -> None:
    """Before the revoke-all date, an opt-out covers what it names; after, it covers
    every purpose, calls and texts alike (47 CFR 64.1200(a)(10), FCC 24-24)."""
    parsed = RevocationIn.model_validate({"via": "agent", **body, "lead_id": None, "phone": "1"})
    got_channels, got_purposes, _ = scope(parsed, revoke_all)
    assert list(got_channels) == channels
    assert list(got_purposes) == (purposes or ["scheduling", "marketing"])


@pytest.mark.parametrize(
    ("setting", "at", "expected"),
    [
        ({}, dt.datetime(2027, 1, 30, 23, tzinfo=dt.UTC), False),
        ({}, dt.datetime(2027, 1, 31, 0, 1, tzinfo=dt.UTC), True),
        ({"revoke_all_scope": "always"}, dt.datetime(2026, 1, 1, tzinfo=dt.UTC), True),
        ({"revoke_all_scope": "never"}, dt.datetime(2030, 1, 1, tzinfo=dt.UTC), False),
        ({"revoke_all_from": "2027-06-01"}, dt.datetime(2027, 3, 1, tzinfo=dt.UTC), False),
    ],
)
def test_revoke_all_scope_setting_is_ready_for_31_january_2027(
    setting: dict[str, str], at: dt.datetime, expected: bool
) -> None:
    """The `revoke_all_scope` setting, with the date it starts on by default."""
    assert make_settings(**setting).revoke_all(at) is expected


@pytest.fixture
async def revoke_all_client(client_with: ClientWith) -> AsyncIterator[httpx.AsyncClient]:
    """The test client, with the revoke-all rule already in force."""
    async with client_with(revoke_all_scope="always") as c:
        yield c


async def test_under_revoke_all_a_marketing_text_opt_out_stops_every_call_and_text(
    revoke_all_client: httpx.AsyncClient, client: httpx.AsyncClient, org: Org
) -> None:
    """Over HTTP: the same request before and after the revoke-all rule applies."""
    before = await new_lead(client, org, 8301)
    r = await revoke(client, org, lead_id=before, channel="sms", purpose="marketing", via="agent")
    assert r.status_code == 201 and r.json()["purposes"] == ["marketing"], r.text
    assert (await consent_of(client, org, before))["current"]["sms"]["scheduling"][
        "status"
    ] == "granted"

    after = await new_lead(revoke_all_client, org, 8302)
    r = await revoke(
        revoke_all_client, org, lead_id=after, channel="sms", purpose="marketing", via="agent"
    )
    assert r.status_code == 201, r.text
    assert r.json()["channels"] == ["voice", "sms"]
    assert r.json()["purposes"] == ["scheduling", "marketing"]
    assert rules(await eligibility(client, org, after, "voice"))[0] == "revoked"


async def test_one_opt_out_confirmation_text_within_five_minutes(
    client: httpx.AsyncClient, org: Org
) -> None:
    """After an opt-out, one non-marketing confirmation text, and nothing else."""
    lead_id = await new_lead(client, org, 8303)
    r = await revoke(client, org, lead_id=lead_id, words="STOP", via="sms_reply")
    assert r.status_code == 201, r.text
    confirm = {"channel": "sms", "outcome": "sms_sent", "purpose": "opt-out-confirmation"}
    first = await post_attempt(client, org, lead_id, confirm)
    assert first.status_code == 201, first.text
    assert first.json()["purpose"] == "opt-out-confirmation" and first.json()["rules_version"]
    again = await post_attempt(client, org, lead_id, confirm)
    assert again.status_code == 422 and problem_type(again) == "revoked"
    marketing = await post_attempt(
        client, org, lead_id, {"channel": "sms", "outcome": "sms_sent", "purpose": "marketing"}
    )
    assert marketing.status_code == 422 and problem_type(marketing) == "revoked"
    # a confirmation answers an opt-out: without one, there is nothing to confirm
    other = await new_lead(client, org, 8304)
    unprompted = await post_attempt(client, org, other, confirm)
    assert unprompted.status_code == 422
