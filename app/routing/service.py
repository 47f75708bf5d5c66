"""Routing a stored lead: load teams, lock the rotations involved, decide, persist.

Concurrency: the member choice of a team is serialised by `SELECT … FOR UPDATE` on the
team's rotation row. Every team the lead could land on (the rule's team and its overflow
chain) is locked, in sorted id order so two requests never wait on each other in a cycle.
Member loads (open leads, assigned today, live claims; app.routing.queries) are read after
the lock, so a capacity check never sees a count another worker is about to change. Intake
decides in a short transaction of its own and leaves a claim (app.routing.queries), so the
lock is held for the choice only. Which of the two a caller wants is its explicit `apart`
argument: a simulation decides inside its own transaction, which it rolls back, so it
spends no rotation turn and leaves no claim.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import Collection, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app import direct
from app.direct import Target
from app.leads.context import StepContext
from app.leads.identity import postal_code
from app.leads.models import Lead, Source
from app.leads.status import refresh
from app.routing import queries, rulesets
from app.routing.config import RoutingConfig, overflow_chain, routing_config, with_live_state
from app.routing.core import Decision, RoutingError, Trace, route
from app.routing.rules import CompiledRuleset, LeadFacts
from app.routing.strategies import RotationState, TeamState

# A lead stops counting against its member's capacity once its intake work is over.
CLOSED_STATUSES = ("booked", "completed", "lost", "unreachable", "no_show")


def facts_for(
    lead: Lead, source_kind: str | None, sticky: str | None = None, *, with_zip: bool = True
) -> LeadFacts:
    """`with_zip`: read the five-digit ZIP from the lead's encrypted document (a rule set
    without ZIP conditions spares the decryption)."""
    attribution = lead.attribution or {}
    return LeadFacts(
        received_at=lead.received_at,
        service=lead.service_code,
        location_id=str(lead.location_id) if lead.location_id else None,
        state=lead.state,
        zip=postal_code(lead) if with_zip else None,
        distance_miles=lead.distance_miles,
        score=lead.score,
        band=lead.score_band,
        # Before scoring has judged urgency, the sender's own word is the best we have.
        urgency=lead.urgency or lead.urgency_requested,
        emergency=bool(lead.emergency),
        qualified=lead.qualified,
        language=lead.language,
        source_id=str(lead.source_id) if lead.source_id else None,
        source_kind=source_kind,
        campaign=attribution.get("utm_campaign") or attribution.get("campaign"),
        insurance=lead.insurance_plan,
        new_patient=lead.new_patient,
        time_to_first_slot=time_to_first_slot(lead),
        sticky_member_id=sticky,
    )


def time_to_first_slot(lead: Lead) -> float | None:
    """Days from the lead's receipt to its earliest fitting free slot (None: not known)."""
    if lead.first_slot_at is None:
        return None
    return round((lead.first_slot_at - lead.received_at).total_seconds() / 86400, 2)


async def decide(
    session: Target,
    org_id: uuid.UUID,
    facts: LeadFacts,
    ruleset: CompiledRuleset,
    now: dt.datetime,
    *,
    exclude: Collection[str] = (),
    sticky_for: Lead | None = None,
    config: RoutingConfig | None = None,
) -> tuple[Decision, dict[str, dict[str, Any]]]:
    """The decision with rotations locked; the caller saves it with `save_rotation`.

    Members in `exclude` (ids) are treated as inactive: skipped, their rotation credit kept
    (SLA escalation moves a lead away from the member who let it wait). With `sticky_for`,
    the member who handled that lead's person before is preferred (read with the loads).
    """
    if config is None:
        assert isinstance(session, AsyncSession), "a driver connection decides with a config"
        config = await routing_config(session, org_id)
    states = dict(config.teams)
    # A first pass without loads finds the rule's team: rule matching never reads them.
    start = route(facts, ruleset, states, now).trace.teams[0].team_id
    chain = sorted(overflow_chain(start, states))
    rows = await queries.lock_rotations(session, org_id, chain)
    # One load query per distinct local day (teams on a chain usually share a time zone).
    by_day: dict[dt.datetime, list[uuid.UUID]] = {}
    for tid in chain:
        ids = [uuid.UUID(m.member_id) for m in states[tid].members]
        by_day.setdefault(config.day_start(tid, now), []).extend(ids)
    loads: dict[str, tuple[int, int]] = {}
    for since, ids in by_day.items() or [(now, [])]:
        day_loads, sticky = await queries.member_loads(session, org_id, ids, since, now, sticky_for)
        loads.update(day_loads)
        if sticky_for is not None:
            # Rule matching never reads the sticky member, so the first pass did without it.
            facts = dataclasses.replace(facts, sticky_member_id=sticky)
            sticky_for = None
    for tid in chain:
        rotation = RotationState.from_json(rows.get(tid))
        states[tid] = _excluding(with_live_state(config.teams[tid], rotation, loads), exclude)
    return route(facts, ruleset, states, now), rows


def _excluding(state: TeamState, exclude: Collection[str]) -> TeamState:
    if not exclude:
        return state
    members = tuple(
        dataclasses.replace(m, status="inactive") if m.member_id in exclude else m
        for m in state.members
    )
    return dataclasses.replace(state, members=members)


def _moved_rotation(
    decision: Decision, rows: Mapping[str, dict[str, Any]], now: dt.datetime
) -> dict[str, Any] | None:
    """The chosen team's new rotation position (parameters of `queries.save_rotation`), if the
    choice moved it."""
    state = rows.get(decision.team_id)
    if state is None or decision.new_rotation.position == int(state.get("position", 0)):
        return None
    return {"team": uuid.UUID(decision.team_id), "state": decision.new_rotation.to_json(),
            "at": now}  # fmt: skip


async def save_rotation(
    session: Target,
    decision: Decision,
    rows: Mapping[str, dict[str, Any]],
    now: dt.datetime,
) -> None:
    """Store the chosen team's new rotation position, if the choice moved it."""
    params = _moved_rotation(decision, rows, now)
    if params is not None:
        await queries.save_rotation(session, params)


# Rules listed in a stored trace; the rest are counted. With 1,000 rules a full list would
# make every lead row hundreds of kilobytes.
MAX_TRACE_RULES = 50


# Facts the stored trace does not repeat: the ZIP is kept encrypted, the trace is not.
_WITHHELD = frozenset({"zip"})


def _shown(fact: str, value: Any) -> Any:
    return "[encrypted]" if fact in _WITHHELD and value is not None else value


def _rule_entry(trace: Trace, index: int, failed: int) -> dict[str, Any]:
    assert trace.ruleset is not None
    compiled = trace.ruleset.rules[index]
    rule = compiled.rule
    last = len(compiled.checks) - 1 if failed < 0 else failed
    conditions = [
        {"field": cond.field, "op": cond.op, "expected": cond.value,
         "actual": _shown(cond.field, trace.values.get(key)), "matched": ci != failed}
        for ci, (cond, (key, _)) in enumerate(zip(rule.conditions, compiled.checks, strict=True))
        if ci <= last
    ]  # fmt: skip
    return {"rule_id": rule.rule_id, "name": rule.name, "team_id": rule.team_id,
            "matched": failed < 0, "conditions": conditions}  # fmt: skip


def decision_doc(decision: Decision) -> dict[str, Any]:
    """The decision as stored on the lead, listing only the rules actually evaluated.

    Rules the rule index ruled out (their first eq/in condition cannot match) and any past
    the cap are counted in `rules_omitted`; `Trace.rules_tried` would list every rule."""
    match = decision.trace.rule_match
    trace = dataclasses.replace(decision.trace, rule_match=None)
    doc = dataclasses.replace(decision, trace=trace).to_json()
    del doc["new_rotation"]
    if match is not None:
        evaluated = sorted({*match.failures, *([] if match.index is None else [match.index])})
        kept = evaluated[-MAX_TRACE_RULES:]
        doc["trace"]["rules"] = [
            _rule_entry(decision.trace, i, -1 if i == match.index else match.failures[i])
            for i in kept
        ]
        doc["trace"]["rules_omitted"] = match.tried - len(kept)
    return doc


def with_location_choice(lead: Lead, doc: dict[str, Any]) -> dict[str, Any]:
    """The trace names the slots considered and why the lead's location won, when its
    service's availability was known (scoring decided it; app.scoring.availability)."""
    choice = (lead.assessment or {}).get("availability")
    return {**doc, "location_choice": choice} if choice else doc


def answer(lead: Lead) -> dict[str, Any]:
    """What the sender's answer to an intake request carries about routing."""
    if lead.routed_at is None:
        status = "unrouted"
    else:
        status = "assigned" if lead.member_id is not None else "queued"
    return {
        "team_id": str(lead.team_id) if lead.team_id else None,
        "member_id": str(lead.member_id) if lead.member_id else None,
        "routing_status": status,
        "callback_at": lead.callback_at.isoformat() if lead.callback_at else None,
        "sla_due_at": lead.sla_due_at.isoformat() if lead.sla_due_at else None,
    }


def _unrouted(lead: Lead, note: str) -> dict[str, Any]:
    lead.routing_trace = {"status": "unrouted", "notes": [note]}
    refresh(lead)
    return answer(lead)


async def _decide_apart(
    engine: AsyncEngine,
    session: AsyncSession,
    lead: Lead,
    facts: LeadFacts,
    ruleset: CompiledRuleset,
    now: dt.datetime,
) -> Decision:
    """Decide in a short transaction of its own, which holds the team's rotation lock only
    for the choice and leaves a claim for the member (app.routing.queries); the lead's own
    transaction then settles the claim as it writes the lead."""
    org_id = lead.organization_id
    # The configuration as the lead's transaction sees it (and has cached).
    config = await routing_config(session, org_id)
    async with direct.transaction(engine) as apart:
        decision, rows = await decide(
            apart, org_id, facts, ruleset, now, sticky_for=lead, config=config
        )
        if decision.member_id is None:
            await save_rotation(apart, decision, rows, now)
        else:
            member = uuid.UUID(decision.member_id)
            moved = _moved_rotation(decision, rows, now)
            await queries.claim(apart, org_id, lead.id, member, now, moved)
    if decision.member_id is not None:
        # In the lead's transaction, so the claim goes when the lead's row (written later
        # in it, if new) counts the member's load instead.
        await queries.settle(session, lead.id, now)
    return decision


async def route_lead(
    session: AsyncSession,
    lead: Lead,
    source_kind: str | None,
    now: dt.datetime,
    *,
    apart: AsyncEngine | None,
    ruleset: CompiledRuleset | None = None,
) -> dict[str, Any]:
    """Route a stored (and scored) lead and persist the decision on it.

    `apart`: the engine whose short transaction commits the member choice, leaving a claim
    that the lead's own transaction settles (intake, re-routing); None decides inside the
    session's transaction, so the choice stands or falls with it (a simulation, which rolls
    back; a session bound to one connection, which has no engine to commit apart on).
    `ruleset`: a draft to route with instead of the live rule set.
    """
    ruleset = ruleset or await rulesets.live(session, lead.organization_id)
    if ruleset is None:
        return _unrouted(lead, "no published rule set; the lead waits unrouted")
    facts = facts_for(lead, source_kind, with_zip=ruleset.uses("zip"))
    try:
        if apart is None:
            decision, rows = await decide(
                session, lead.organization_id, facts, ruleset, now, sticky_for=lead
            )
            await save_rotation(session, decision, rows, now)
        else:
            decision = await _decide_apart(apart, session, lead, facts, ruleset, now)
    except RoutingError as exc:
        return _unrouted(lead, f"routing failed: {exc}")
    apply_decision(lead, decision, now)
    await session.flush()
    return answer(lead)


def apply_decision(lead: Lead, decision: Decision, now: dt.datetime) -> None:
    """Write a routing decision onto its lead (and the status it implies)."""
    lead.team_id = uuid.UUID(decision.team_id)
    lead.member_id = uuid.UUID(decision.member_id) if decision.member_id else None
    lead.ruleset_version = decision.ruleset_version
    lead.rule_id = decision.rule_id
    lead.routing_trace = with_location_choice(lead, decision_doc(decision))
    lead.routed_at = now
    lead.callback_at = decision.callback_at
    lead.sla_due_at = decision.sla_due_at
    refresh(lead)


async def source_kind(session: AsyncSession, lead: Lead) -> str:
    if lead.source_id is None:
        return "api"
    kind = await session.scalar(select(Source.kind).where(Source.id == lead.source_id))
    return kind or "api"


async def route_step(
    ctx: StepContext, *, apart: AsyncEngine | None, ruleset: CompiledRuleset | None
) -> dict[str, Any]:
    """The intake flow's routing step (`apart` and `ruleset`: see route_lead). A
    resubmission keeps its member (sticky); a lead that was never routed, or waits in a
    queue without a member, is routed now."""
    if ctx.resubmission and ctx.lead.member_id is not None:
        return answer(ctx.lead)
    kind = ctx.source.kind if ctx.source is not None else "api"
    return await route_lead(ctx.session, ctx.lead, kind, ctx.now, apart=apart, ruleset=ruleset)
