"""The SLA sweep: breach, escalation to the next member, then the overflow team, at most N."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.jobs.models import Job
from app.leads.models import Lead
from app.outreach import sla
from tests.conftest import Org
from tests.intake.helpers import person, post_lead
from tests.outreach.helpers import messages, subscribe_all
from tests.routing.http_helpers import default_rule, publish_rules, team_with_members


async def _routed_lead(client: httpx.AsyncClient, org: Org, n: int) -> dict[str, Any]:
    r = await post_lead(client, org, person(n))
    assert r.status_code == 201, r.text
    return dict(r.json())


async def _lead(session: AsyncSession, lead_id: str) -> Lead:
    stmt = (
        select(Lead).where(Lead.id == uuid.UUID(lead_id)).execution_options(populate_existing=True)
    )
    return (await session.execute(stmt)).scalar_one()


def _after(iso: str, minutes: int = 1) -> dt.datetime:
    return dt.datetime.fromisoformat(iso) + dt.timedelta(minutes=minutes)


async def test_breached_lead_is_escalated_once_to_the_next_member_with_events(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    await subscribe_all(client, org)
    team, (ana, ben) = await team_with_members(
        client, org, ["Ana", "Ben"], sla_minutes={"default": 30}, max_escalations=1
    )
    await publish_rules(client, org, [default_rule(team["id"])])
    answer = await _routed_lead(client, org, 7401)
    assert answer["member_id"] == ana["id"] and answer["sla_due_at"]
    due = answer["sla_due_at"]

    assert await sla.sweep(session, _after(due, -1), org_id=org.id) == 0  # not due yet
    assert await sla.sweep(session, _after(due), org_id=org.id) == 1
    lead = await _lead(session, answer["lead_id"])
    assert lead.member_id == uuid.UUID(ben["id"]) and lead.escalation_count == 1
    assert lead.sla_breached_at == dt.datetime.fromisoformat(due)
    assert lead.sla_due_at == _after(due, 31)  # the new deadline counts from the escalation
    breached = await messages(session, org, "lead.sla_breached")
    moved = await messages(session, org, "lead.reassigned")
    assert len(breached) == 1 and breached[0]["data"]["lead_id"] == answer["lead_id"]
    assert len(moved) == 1 and moved[0]["data"]["from"]["member_id"] == ana["id"]
    assert (
        moved[0]["data"]["member_id"] == ben["id"]
        and moved[0]["data"]["reason"] == "sla_escalation"
    )
    assert await sla.sweep(session, _after(due, 2), org_id=org.id) == 0  # handled once

    # Ben lets it wait too: breached again, but the team allows one escalation only
    assert await sla.sweep(session, _after(due, 32), org_id=org.id) == 1
    lead = await _lead(session, answer["lead_id"])
    assert lead.member_id == uuid.UUID(ben["id"]) and lead.escalation_count == 1
    assert len(await messages(session, org, "lead.sla_breached")) == 2
    assert len(await messages(session, org, "lead.reassigned")) == 1
    await session.commit()
    timeline = await client.get(f"/v1/leads/{answer['lead_id']}/timeline", headers=org.headers)
    types = [e["type"] for e in timeline.json()["events"]]
    assert types.count("lead.sla_breached") == 2 and "lead.escalation_exhausted" in types


async def test_escalation_goes_to_the_overflow_team_when_nobody_else_is_free(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    overflow, (zoe,) = await team_with_members(
        client, org, ["Zoe"], name="Call center", sla_minutes={"default": 10}
    )
    team, (solo,) = await team_with_members(
        client, org, ["Solo"], sla_minutes={"default": 30}, overflow_team_id=overflow["id"]
    )
    await publish_rules(client, org, [default_rule(team["id"])])
    answer = await _routed_lead(client, org, 7402)
    assert answer["member_id"] == solo["id"]
    assert await sla.sweep(session, _after(answer["sla_due_at"]), org_id=org.id) == 1
    lead = await _lead(session, answer["lead_id"])
    assert lead.team_id == uuid.UUID(overflow["id"]) and lead.member_id == uuid.UUID(zoe["id"])
    assert lead.sla_due_at == _after(answer["sla_due_at"], 11)


async def test_an_attempt_before_the_deadline_stops_the_sweep(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    await subscribe_all(client, org)
    team, _ = await team_with_members(client, org, ["Ana", "Ben"], sla_minutes={"default": 30})
    await publish_rules(client, org, [default_rule(team["id"])])
    answer = await _routed_lead(client, org, 7403)
    r = await client.post(
        f"/v1/leads/{answer['lead_id']}/contact-attempts",
        json={"channel": "voice", "outcome": "no_answer"},
        headers=org.headers,
    )
    # outside calling hours the attempt is refused; an admin override still counts as made
    if r.status_code == 422:
        r = await client.post(
            f"/v1/leads/{answer['lead_id']}/contact-attempts",
            json={"channel": "voice", "outcome": "no_answer", "override_reason": "test clock"},
            headers=org.headers,
        )
    assert r.status_code == 201, r.text
    assert await sla.sweep(session, _after(answer["sla_due_at"], 60), org_id=org.id) == 0
    assert await messages(session, org, "lead.sla_breached") == []


async def test_the_sweep_job_queues_its_successor_once(session: AsyncSession) -> None:
    run_at = dt.datetime(2031, 1, 1, 12, 0, tzinfo=dt.UTC)
    await sla.schedule(session, run_at)
    await sla.schedule(session, run_at)
    jobs = (
        await session.execute(
            select(Job).where(Job.dedupe_key == f"sla.sweep:{run_at:%Y%m%dT%H%M%S}")
        )
    ).scalars()
    assert len(list(jobs)) == 1
