"""The pull queue holds only leads someone may contact.

A revocation takes the lead's phone out of every outreach queue within the same
request. A lead without consent evidence never enters the dialer's queue.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import httpx
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.consent import eligibility
from app.leads.models import Lead
from app.outreach import sla
from tests.conftest import Org
from tests.consent.helpers import revoke
from tests.intake.helpers import person, post_lead
from tests.outreach.helpers import problem_type
from tests.practice.helpers import setup_practice
from tests.routing.http_helpers import add_member, default_rule, make_team, publish_rules


async def _queue(client: httpx.AsyncClient, org: Org, team: str, **params: str) -> list[Any]:
    r = await client.get("/v1/handoffs", params={"team": team, **params}, headers=org.headers)
    assert r.status_code == 200, r.text
    return list(r.json()["data"])


async def _claim(client: httpx.AsyncClient, org: Org, member: str) -> httpx.Response:
    return await client.post("/v1/handoffs/claim", json={"member_id": member}, headers=org.headers)


async def _team(client: httpx.AsyncClient, org: Org) -> str:
    team = await make_team(client, org, sla_minutes={"default": 30})
    await publish_rules(client, org, [default_rule(str(team["id"]))])
    return str(team["id"])


async def _lead(client: httpx.AsyncClient, org: Org, n: int, **overrides: Any) -> str:
    r = await post_lead(client, org, person(n, **overrides))
    assert r.status_code == 201, r.text
    return str(r.json()["lead_id"])


async def test_stopall_takes_the_lead_out_of_the_queue_and_claims_at_once(
    client: httpx.AsyncClient, org: Org
) -> None:
    """STOPALL removes the lead from `GET /v1/handoffs` in the revoking request."""
    team = await _team(client, org)
    lead_id = await _lead(client, org, 8101)
    [item] = await _queue(client, org, team)
    assert item["lead_id"] == lead_id and item["channels"] == ["voice", "sms"]

    r = await revoke(client, org, lead_id=lead_id, words="STOPALL", via="sms_reply")
    assert r.status_code == 201, r.text
    assert await _queue(client, org, team) == []
    member = await add_member(client, org, team, "Ana")
    empty = await _claim(client, org, member["id"])
    assert empty.status_code == 404 and problem_type(empty) == "queue-empty"
    # still listed as routed work, with nothing usable, for whoever looks at everything
    [listed] = await _queue(client, org, team, status="all")
    assert listed["lead_id"] == lead_id and listed["channels"] == []


async def test_stop_on_one_channel_keeps_the_lead_with_what_is_left(
    client: httpx.AsyncClient, org: Org
) -> None:
    team = await _team(client, org)
    lead_id = await _lead(client, org, 8102)
    r = await revoke(client, org, lead_id=lead_id, words="STOP", via="sms_reply")
    assert r.status_code == 201, r.text
    [item] = await _queue(client, org, team)
    assert item["channels"] == ["voice"]
    assert set(item["channels_now"]) <= {"voice"}


async def test_a_lead_without_consent_evidence_never_enters_the_queue(
    client: httpx.AsyncClient, org: Org
) -> None:
    """No consent evidence (or a box left unticked): not in the dialer's queue."""
    team = await _team(client, org)
    await _lead(client, org, 8103, consent=None)
    unticked = dict(person(8104)["consent"], checked=False)
    await _lead(client, org, 8104, consent=unticked)
    assert await _queue(client, org, team) == []
    member = await add_member(client, org, team, "Ben")
    assert (await _claim(client, org, member["id"])).status_code == 404


async def test_not_qualified_lead_routed_to_nurture_is_that_teams_work(
    client: httpx.AsyncClient, org: Org
) -> None:
    await setup_practice(client, org)
    front = await make_team(client, org, name="Front desk")
    nurture = await make_team(client, org, name="Nurture")
    rules = [
        {"id": "nq", "name": "not qualified", "team_id": nurture["id"],
         "conditions": [{"field": "qualified", "op": "is_false"}]},
        default_rule(front["id"]),
    ]  # fmt: skip
    await publish_rules(client, org, rules)
    body = person(8105, postal_code="60614", service={"text": "knee pain doctor"},
                  insurance={"carrier": "Cigna", "plan": "Open Access Plus"})  # fmt: skip
    r = await post_lead(client, org, body)
    assert r.status_code == 201 and r.json()["status"] == "not_qualified", r.text
    lead_id = r.json()["lead_id"]
    [item] = await _queue(client, org, nurture["id"])
    assert item["lead_id"] == lead_id and item["status"] == "not_qualified"
    member = await add_member(client, org, nurture["id"], "Nia")
    claimed = await _claim(client, org, member["id"])
    assert claimed.status_code == 200, claimed.text
    assert claimed.json()["lead_id"] == lead_id
    assert await _queue(client, org, front["id"]) == []


async def test_channels_now_follow_calling_hours_and_consent(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    await _team(client, org)
    both = await _lead(client, org, 8106)
    texts_only = await _lead(client, org, 8110)
    r = await revoke(client, org, lead_id=texts_only, channel="voice", via="agent")
    assert r.status_code == 201, r.text
    leads = list(
        (
            await session.execute(
                select(Lead)
                .where(Lead.id.in_([uuid.UUID(both), uuid.UUID(texts_only)]))
                .execution_options(populate_existing=True)
            )
        ).scalars()
    )
    # Tuesday 18 March 2025: 11:00 and 03:30 in Chicago (ZIP 60647, area code 312).
    day = dt.datetime(2025, 3, 18, 16, tzinfo=dt.UTC)
    night = dt.datetime(2025, 3, 18, 8, 30, tzinfo=dt.UTC)
    by_day = await eligibility.channels_now(session, org.id, leads, day)
    assert by_day == {uuid.UUID(both): ["voice", "sms"], uuid.UUID(texts_only): ["sms"]}
    by_night = await eligibility.channels_now(session, org.id, leads, night)
    assert by_night == {uuid.UUID(both): [], uuid.UUID(texts_only): []}


async def test_a_claim_rechecks_consent_under_the_lock(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    """A lead whose stored channels went stale is passed over, not handed out."""
    team = await _team(client, org)
    stale = await _lead(client, org, 8107, consent=None)
    await session.execute(
        text("UPDATE leads SET contact_channels = '{voice}' WHERE id = :id"),
        {"id": uuid.UUID(stale)},
    )
    await session.commit()
    assert [i["lead_id"] for i in await _queue(client, org, team)] == [stale]
    member = await add_member(client, org, team, "Cy")
    r = await _claim(client, org, member["id"])
    assert r.status_code == 404 and problem_type(r) == "queue-empty"
    lead = (
        await session.execute(
            select(Lead)
            .where(Lead.id == uuid.UUID(stale))
            .execution_options(populate_existing=True)
        )
    ).scalar_one()
    assert lead.claimed_at is None and lead.member_id is None


async def test_the_sla_sweep_does_not_escalate_a_lead_nobody_may_contact(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    """A revoked lead leaves the SLA sweep's escalations too."""
    team = await _team(client, org)
    await add_member(client, org, team, "Dee")
    await add_member(client, org, team, "Eli")
    revoked = await _lead(client, org, 8108)
    waiting = await _lead(client, org, 8109)
    r = await revoke(client, org, lead_id=revoked, channel="all", via="agent")
    assert r.status_code == 201, r.text
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)
    assert await sla.sweep(session, later, org_id=org.id) == 1
    rows = await session.execute(
        select(Lead.id, Lead.escalation_count, Lead.sla_breached_at)
        .where(Lead.id.in_([uuid.UUID(revoked), uuid.UUID(waiting)]))
        .execution_options(populate_existing=True)
    )
    by_id = {str(r.id): (r.escalation_count, r.sla_breached_at) for r in rows}
    assert by_id[revoked] == (0, None)
    assert by_id[waiting][1] is not None


async def test_facts_that_make_a_lead_an_emergency_refresh_the_queue_at_once(
    client: httpx.AsyncClient, org: Org
) -> None:
    """An emergency may be called back without consent of its own (issue #22): a lead whose
    corrected facts (`PATCH …/facts`) make it one enters the queue at its head in that
    request, with the channels it may use; corrected back, it leaves again."""
    team = await _team(client, org)
    ordinary = await _lead(client, org, 8111)
    silent = await _lead(client, org, 8112, consent=None)
    assert [i["lead_id"] for i in await _queue(client, org, team)] == [ordinary]

    url = f"/v1/leads/{silent}/facts"
    chest = {"reason": "crushing pain in my chest and sweating"}
    r = await client.patch(url, json=chest, headers=org.headers)
    assert r.status_code == 200 and r.json()["emergency"] is True, r.text
    first, second = await _queue(client, org, team)
    assert (first["lead_id"], first["emergency"]) == (silent, True)
    assert "voice" in first["channels"] and second["lead_id"] == ordinary

    r = await client.patch(url, json={"reason": "a check-up"}, headers=org.headers)
    assert r.status_code == 200 and r.json()["emergency"] is False, r.text
    assert [i["lead_id"] for i in await _queue(client, org, team)] == [ordinary]
