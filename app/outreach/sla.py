"""The SLA sweep: leads that reach `sla_due_at` without a first attempt are breached and
escalated, to the next available member of the team, then to its overflow team.

One `sla.sweep` job runs each minute and queues the next one itself; the dedupe key is the
minute, so any number of workers keep exactly one sweep queued. Due leads are taken with
`FOR UPDATE SKIP LOCKED`, so even overlapping sweeps never handle a lead twice.

Each missed deadline emits `lead.sla_breached`; `sla_breached_at` keeps the first. A lead is
escalated at most `max_escalations` times (the setting of the team that let it wait), each
time with a new deadline from the new team, counted from the escalation.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from typing import Any

import structlog
from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.audit import service as audit
from app.db import utcnow
from app.jobs import service as jobs
from app.jobs.models import Job
from app.leads.models import Lead
from app.outbox import service as outbox
from app.routing import service as routing
from app.routing.core import Decision, RoutingError
from app.routing.models import Team
from app.routing.rules import compile_ruleset

log = structlog.get_logger("app.outreach.sla")

SWEEP = "sla.sweep"
BATCH = 100
ESCALATION = "sla_escalation"


def _due(now: dt.datetime) -> Any:
    first_breach = and_(Lead.sla_breached_at.is_(None), Lead.sla_due_at <= now)
    return and_(
        Lead.status == "routed",
        Lead.first_attempt_at.is_(None),
        Lead.erased_at.is_(None),
        # Nobody may contact it (no usable consent, or revoked): nothing to escalate.
        func.cardinality(Lead.contact_channels) > 0,
        or_(first_breach, Lead.escalation_due_at <= now),
    )


async def sweep(
    session: AsyncSession,
    now: dt.datetime | None = None,
    limit: int = BATCH,
    *,
    org_id: uuid.UUID | None = None,
) -> int:
    """Breach and escalate up to `limit` due leads (of every organisation unless `org_id`);
    returns how many were handled."""
    now = now or utcnow()
    stmt = select(Lead).where(_due(now))
    if org_id is not None:
        stmt = stmt.where(Lead.organization_id == org_id)
    stmt = stmt.order_by(Lead.sla_due_at, Lead.id).limit(limit).with_for_update(skip_locked=True)
    leads = list((await session.execute(stmt)).scalars())
    for lead in leads:
        try:
            async with session.begin_nested():
                await breach(session, lead, now)
        except Exception as exc:  # one broken lead must not stall every other one
            log.error("sla_breach_failed", lead_id=str(lead.id), error_type=type(exc).__name__)
    return len(leads)


async def breach(session: AsyncSession, lead: Lead, now: dt.datetime) -> None:
    missed = lead.sla_due_at if lead.sla_breached_at is None else lead.escalation_due_at
    lead.sla_breached_at = lead.sla_breached_at or lead.sla_due_at
    lead.escalation_due_at = None
    await outbox.emit(
        session,
        lead.organization_id,
        "lead.sla_breached",
        {**outbox.lead_data(lead), "missed_due_at": missed,
         "escalation_count": lead.escalation_count},
        lead_id=lead.id,
        at=now,
    )  # fmt: skip
    team = await session.get(Team, lead.team_id) if lead.team_id else None
    if team is None or lead.escalation_count >= team.max_escalations:
        await outbox.record_event(
            session, lead, "lead.escalation_exhausted",
            {"escalation_count": lead.escalation_count}, at=now,
        )  # fmt: skip
        return
    await escalate(session, lead, team, now)


def _previous_holders(lead: Lead) -> set[str]:
    events = (lead.routing_trace or {}).get("events", [])
    return {
        str(e["from"]["member_id"])
        for e in events
        if e.get("type") == ESCALATION and (e.get("from") or {}).get("member_id")
    }


async def _decide(
    session: AsyncSession, lead: Lead, team: Team, now: dt.datetime
) -> Decision | None:
    """Route again from the lead's team without the members who already let it wait."""
    ruleset = compile_ruleset(
        {"rules": [{"id": ESCALATION, "name": "SLA escalation", "team_id": str(team.id)}]},
        lead.ruleset_version or 0,
    )
    facts = routing.facts_for(lead, await routing.source_kind(session, lead))
    # The new deadline counts from now; an emergency keeps its clock but not the shortcut
    # that would send it straight back to the urgent team.
    facts = dataclasses.replace(facts, received_at=now, sticky_member_id=None)
    if facts.emergency:
        facts = dataclasses.replace(facts, emergency=False, urgency="emergency")
    exclude = _previous_holders(lead) | ({str(lead.member_id)} if lead.member_id else set())
    try:
        decision, rows = await routing.decide(
            session, lead.organization_id, facts, ruleset, now, exclude=exclude
        )
    except RoutingError:
        return None
    if decision.member_id is None and decision.team_id == str(lead.team_id):
        return None  # nobody else here and nowhere to overflow: moving it would help no one
    await routing.save_rotation(session, decision, rows, now)
    return decision


async def escalate(session: AsyncSession, lead: Lead, team: Team, now: dt.datetime) -> bool:
    decision = await _decide(session, lead, team, now)
    if decision is None:
        await outbox.record_event(
            session, lead, "lead.escalation_skipped", {"reason": "nobody_available"}, at=now
        )
        return False
    before = _owner(lead)
    lead.team_id = uuid.UUID(decision.team_id)
    lead.member_id = uuid.UUID(decision.member_id) if decision.member_id else None
    lead.callback_at = decision.callback_at
    lead.sla_due_at = decision.sla_due_at
    lead.escalation_due_at = decision.sla_due_at
    lead.claimed_at = None
    lead.escalation_count += 1
    after = _owner(lead)
    step = {"type": ESCALATION, "at": now.isoformat(), "from": before, "to": after,
            "escalation": lead.escalation_count, "status": decision.status}  # fmt: skip
    trace = dict(lead.routing_trace or {})
    trace["events"] = [*trace.get("events", []), step]
    lead.routing_trace = trace
    await session.flush()
    await audit.record(
        session, None, "lead.escalate", "lead", lead.id,
        {"from": before, "to": after, "escalation": lead.escalation_count},
        org_id=lead.organization_id,
    )  # fmt: skip
    await outbox.emit(
        session,
        lead.organization_id,
        "lead.reassigned",
        {**outbox.lead_data(lead), "from": before, "reason": ESCALATION,
         "escalation": lead.escalation_count},
        lead_id=lead.id,
        at=now,
    )  # fmt: skip
    return True


def _owner(lead: Lead) -> dict[str, str | None]:
    return {
        "team_id": str(lead.team_id) if lead.team_id else None,
        "member_id": str(lead.member_id) if lead.member_id else None,
    }


def _next_minute(now: dt.datetime) -> dt.datetime:
    return now.replace(second=0, microsecond=0) + dt.timedelta(minutes=1)


async def schedule(session: AsyncSession, run_at: dt.datetime) -> None:
    await jobs.enqueue(
        session, SWEEP, {}, run_at=run_at, dedupe_key=f"{SWEEP}:{run_at:%Y%m%dT%H%M%S}"
    )


# A failing sweep retries within a minute, for as long as it takes: the chain must not end.
@jobs.registry.register(SWEEP, schedule=(5, 15, 30, 60), max_attempts=30_000)
async def _sweep_job(session: AsyncSession, job: Job) -> None:
    now = utcnow()
    handled = await sweep(session, now)
    # A full batch means more are due: go again at once instead of waiting a minute.
    await schedule(session, now if handled >= BATCH else _next_minute(now))


async def ensure_scheduled(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    """Called when a worker starts; the minute's dedupe key keeps one chain however many."""
    async with sessionmaker() as session, session.begin():
        await schedule(session, _next_minute(utcnow()))
