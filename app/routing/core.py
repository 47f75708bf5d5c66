"""The routing decision: `route(facts, ruleset, teams, now) -> Decision`.

Pure: the caller loads the compiled rule set and every team of the
organisation (rules, overflow chains and the urgent team may all be needed),
locks the rotation row of the teams involved, calls `route`, then persists
`decision.new_rotation` for `decision.team_id`. Only that one team's rotation
can change in a decision, because overflow teams are tried in turn and the
first one with an eligible member is the only one that picks.

Queue placement when nobody can take the lead: among the teams visited on the
overflow chain, the one that opens soonest (an open team with nobody free opens
"now"), ties to the earlier team in the chain. The lead therefore waits where
it can be called back first rather than always in the rule's team.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from app.hours import add_business_minutes, is_open, next_opening
from app.routing.rules import CompiledRuleset, LeadFacts, Rule, RuleMatch, fact_values
from app.routing.strategies import (
    Candidate,
    MemberState,
    RotationState,
    SkipReason,
    Strategy,
    TeamState,
    select_member,
)

__all__ = [
    "Candidate",
    "Decision",
    "Hop",
    "LeadFacts",
    "MemberState",
    "RotationState",
    "RoutingError",
    "SkipReason",
    "Strategy",
    "TeamState",
    "TeamStep",
    "Trace",
    "route",
    "urgent_team",
]

Status = Literal["assigned", "queued"]
Outcome = Literal["assigned", "nobody_available", "closed"]


class RoutingError(ValueError):
    """The inputs cannot produce a decision (e.g. a rule's team was not loaded)."""


@dataclass(frozen=True, slots=True)
class TeamStep:
    team_id: str
    open: bool
    strategy: Strategy
    outcome: Outcome
    candidates: tuple[Candidate, ...]
    sticky: str
    chosen_member_id: str | None
    next_opening: datetime | None
    time_zone: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "team_id": self.team_id,
            "open": self.open,
            "strategy": self.strategy,
            "outcome": self.outcome,
            "sticky": self.sticky,
            "candidates": [
                {"member_id": c.member_id, "skipped": c.skipped, "open_leads": c.open_leads}
                for c in self.candidates
            ],
            "chosen_member_id": self.chosen_member_id,
            "next_opening": _iso(self.next_opening),
            "time_zone": self.time_zone,
        }


@dataclass(frozen=True, slots=True)
class Hop:
    from_team_id: str
    to_team_id: str
    reason: Outcome
    # None when followed; "already_visited" (loop) or "unknown_team" when refused.
    refused: str | None = None


@dataclass(frozen=True)
class Trace:
    ruleset_version: int
    emergency: bool
    urgent_team_id: str | None
    rule_match: RuleMatch | None
    teams: tuple[TeamStep, ...]
    hops: tuple[Hop, ...]
    choice: Mapping[str, Any]
    notes: tuple[str, ...] = ()
    ruleset: CompiledRuleset | None = field(default=None, repr=False, compare=False)
    values: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def rules_tried(self) -> list[dict[str, Any]]:
        """Per rule, the conditions evaluated: all of them for the match, up to and
        including the first failure otherwise (evaluation stops there)."""
        if self.ruleset is None or self.rule_match is None:
            return []
        out = []
        for index, failed in self.rule_match.steps():
            rule = self.ruleset.rules[index]
            last = len(rule.checks) - 1 if failed < 0 else failed
            conditions = [
                {
                    "field": cond.field,
                    "op": cond.op,
                    "expected": cond.value,
                    "actual": self.values.get(key),
                    "matched": ci != failed,
                }
                for ci, (cond, (key, _)) in enumerate(
                    zip(rule.rule.conditions, rule.checks, strict=True)
                )
                if ci <= last
            ]
            out.append(
                {
                    "rule_id": rule.rule.rule_id,
                    "name": rule.rule.name,
                    "team_id": rule.rule.team_id,
                    "matched": failed < 0,
                    "conditions": conditions,
                }
            )
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "ruleset_version": self.ruleset_version,
            "emergency": self.emergency,
            "urgent_team_id": self.urgent_team_id,
            "rules": self.rules_tried(),
            "teams": [t.to_json() for t in self.teams],
            "overflow": [
                {
                    "from": h.from_team_id,
                    "to": h.to_team_id,
                    "reason": h.reason,
                    "refused": h.refused,
                }
                for h in self.hops
            ],
            "choice": dict(self.choice),
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class Decision:
    status: Status
    team_id: str
    member_id: str | None
    rule_id: str | None
    rule_name: str | None
    ruleset_version: int
    strategy: Strategy
    callback_at: datetime | None
    sla_due_at: datetime | None
    overflowed_from: tuple[str, ...]
    sticky: bool
    emergency: bool
    new_rotation: RotationState
    trace: Trace

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "team_id": self.team_id,
            "member_id": self.member_id,
            "rule_id": self.rule_id,
            "rule_name": self.rule_name,
            "ruleset_version": self.ruleset_version,
            "strategy": self.strategy,
            "callback_at": _iso(self.callback_at),
            "sla_due_at": _iso(self.sla_due_at),
            "overflowed_from": list(self.overflowed_from),
            "sticky": self.sticky,
            "emergency": self.emergency,
            "new_rotation": self.new_rotation.to_json(),
            "trace": self.trace.to_json(),
        }


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


def _team_open(team: TeamState, now: datetime) -> bool:
    return team.hours is None or is_open(team.hours, now)


def urgent_team(teams: Mapping[str, TeamState]) -> TeamState | None:
    """The flagged urgent team with the shortest emergency SLA (ties: team id).

    Without any flag, the team with the shortest emergency SLA is used, so an
    organisation that only configured SLAs still gets emergencies handled.
    """
    flagged = [t for t in teams.values() if t.is_urgent_team]
    pool = flagged or [t for t in teams.values() if "emergency" in t.sla_minutes]
    if not pool:
        return None
    return min(pool, key=lambda t: (t.sla_minutes.get("emergency", 10**9), t.team_id))


@dataclass(frozen=True, slots=True)
class _Visit:
    team: TeamState
    step: TeamStep
    rotation: RotationState


def _visit(team: TeamState, strategy: Strategy, facts: LeadFacts, now: datetime) -> _Visit:
    tz = team.hours.time_zone if team.hours is not None else None
    if not _team_open(team, now):
        opening = next_opening(team.hours, now) if team.hours is not None else now
        step = TeamStep(team.team_id, False, strategy, "closed", (), "none", None, opening, tz)
        return _Visit(team, step, team.rotation)
    sel = select_member(team, strategy, facts.language, facts.sticky_member_id, now)
    chosen = sel.member.member_id if sel.member is not None else None
    outcome: Outcome = "assigned" if chosen is not None else "nobody_available"
    step = TeamStep(
        team.team_id, True, strategy, outcome, sel.candidates, sel.sticky, chosen, now, tz
    )
    return _Visit(team, step, sel.rotation)


def _walk(
    start: TeamState,
    override: Strategy | None,
    facts: LeadFacts,
    teams: Mapping[str, TeamState],
    now: datetime,
) -> tuple[list[_Visit], list[Hop]]:
    """Visit the team, then its overflow chain, until someone is chosen.

    The rule's strategy override applies to the rule's team only: overflow
    teams keep their own configuration.
    """
    visits: list[_Visit] = []
    hops: list[Hop] = []
    team, strategy = start, override or start.strategy
    while True:
        visit = _visit(team, strategy, facts, now)
        visits.append(visit)
        target = team.overflow_team_id
        if visit.step.outcome == "assigned" or target is None:
            return visits, hops
        refused = None
        if any(v.team.team_id == target for v in visits):
            refused = "already_visited"
        elif target not in teams:
            refused = "unknown_team"
        hops.append(Hop(team.team_id, target, visit.step.outcome, refused))
        if refused is not None:
            return visits, hops
        team = teams[target]
        strategy = team.strategy


def _final_visit(visits: list[_Visit]) -> _Visit:
    if visits[-1].step.outcome == "assigned":
        return visits[-1]
    # Soonest callback wins; "never opens" sorts last; min() keeps the earliest on ties.
    far = datetime.max.replace(tzinfo=UTC)
    return min(visits, key=lambda v: v.step.next_opening or far)


def _sla_due(team: TeamState, facts: LeadFacts) -> datetime | None:
    urgency = "emergency" if facts.emergency else (facts.urgency or "routine").casefold()
    minutes = team.sla_minutes.get(urgency, team.sla_minutes.get("default"))
    if minutes is None:
        return None
    if team.hours is None:
        return (facts.received_at + timedelta(minutes=minutes)).astimezone(UTC)
    try:
        # Speed to lead is measured from received_at, so the SLA clock is too.
        return add_business_minutes(team.hours, facts.received_at, minutes)
    except ValueError:
        return None


def _start(
    facts: LeadFacts, ruleset: CompiledRuleset, teams: Mapping[str, TeamState], now: datetime
) -> tuple[TeamState, Rule | None, TeamState | None, RuleMatch | None, dict[str, Any]]:
    values = fact_values(facts)
    urgent = urgent_team(teams) if facts.emergency else None
    if urgent is not None:
        # Emergencies bypass the rules entirely: safety before specialty.
        return urgent, None, urgent, None, values
    for team_id in ruleset.team_open_teams:
        team = teams.get(team_id)
        values[f"team_open:{team_id}"] = None if team is None else _team_open(team, now)
    match = ruleset.first_match(values)
    if match.index is None:
        raise RoutingError("no rule matched; the rule set has no default rule")
    rule = ruleset.rules[match.index].rule
    if rule.team_id not in teams:
        raise RoutingError(f"team {rule.team_id!r} of rule {rule.rule_id!r} was not loaded")
    return teams[rule.team_id], rule, None, match, values


def _choice(visit: _Visit) -> dict[str, Any]:
    step = visit.step
    assigned = step.outcome == "assigned"
    return {
        "status": "assigned" if assigned else "queued",
        "team_id": step.team_id,
        "member_id": step.chosen_member_id,
        "sticky": assigned and step.sticky == "used",
        "callback_at": None if assigned else step.next_opening,
    }


def route(
    facts: LeadFacts,
    ruleset: CompiledRuleset,
    teams: Mapping[str, TeamState],
    now: datetime,
) -> Decision:
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    start, rule, urgent, match, values = _start(facts, ruleset, teams, now)
    notes: tuple[str, ...] = ()
    if facts.emergency and urgent is None:
        notes = ("emergency lead but no urgent team is configured; routed by rules",)
    visits, hops = _walk(start, rule.strategy if rule else None, facts, teams, now)
    chosen = _final_visit(visits)
    choice = _choice(chosen)
    order = [v.team.team_id for v in visits]
    trace = Trace(
        ruleset_version=ruleset.version,
        emergency=facts.emergency,
        urgent_team_id=urgent.team_id if urgent is not None else None,
        rule_match=match,
        teams=tuple(v.step for v in visits),
        hops=tuple(hops),
        choice={**choice, "callback_at": _iso(choice["callback_at"])},
        notes=notes,
        ruleset=ruleset,
        values=values,
    )
    return Decision(
        status=choice["status"],
        team_id=chosen.team.team_id,
        member_id=chosen.step.chosen_member_id,
        rule_id=rule.rule_id if rule is not None else None,
        rule_name=rule.name if rule is not None else None,
        ruleset_version=ruleset.version,
        strategy=chosen.step.strategy,
        callback_at=choice["callback_at"],
        sla_due_at=_sla_due(chosen.team, facts),
        overflowed_from=tuple(order[: order.index(chosen.team.team_id)]),
        sticky=choice["sticky"],
        emergency=facts.emergency,
        new_rotation=chosen.rotation,
        trace=trace,
    )
