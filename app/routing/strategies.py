"""Choosing a member inside one team: eligibility, sticky owner, rotation strategies.

All three strategies share one deterministic rotation: smooth weighted round
robin (the nginx "current weight" scheme). Each pick adds every eligible
member's weight to its credit, the highest credit wins (ties: member order),
and the winner gives back the eligible total. Consequences we rely on:

- round robin (all weights 1) cycles in member order, 999 leads -> 333 each;
- weights 2:1:1 give exactly 2/4, 1/4, 1/4 of every 4 consecutive picks;
- a skipped member's credit is frozen, not grown: it keeps its place and is
  picked next once eligible again, but an absence never builds up a backlog
  that would flood it on return.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, NamedTuple

from app.hours import WeeklyHours

Strategy = Literal["round_robin", "weighted", "least_loaded"]
MemberStatus = Literal["active", "away", "inactive"]
SkipReason = Literal["inactive", "away", "at_capacity", "daily_cap_reached", "language_mismatch"]


@dataclass(frozen=True, slots=True, kw_only=True)
class MemberState:
    member_id: str
    name: str = ""
    status: MemberStatus = "active"
    # Away ends by itself once now >= away_until; None means away until changed.
    away_until: datetime | None = None
    languages: frozenset[str] = frozenset()
    weight: int = 1
    daily_cap: int | None = None
    # Overrides the team's capacity_per_member when set.
    capacity: int | None = None
    assigned_today: int = 0
    open_leads: int = 0

    def __post_init__(self) -> None:
        if self.weight < 1:
            raise ValueError("weight must be >= 1")


@dataclass(frozen=True, slots=True)
class RotationState:
    """Per-team rotation, persisted by the DB layer after every decision.

    `position` counts strategy picks (a version number for the row), `credits`
    holds each member's smooth-round-robin credit.
    """

    position: int = 0
    last_member_id: str | None = None
    credits: Mapping[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "position": self.position,
            "last_member_id": self.last_member_id,
            "credits": dict(sorted(self.credits.items())),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> RotationState:
        if not data:
            return cls()
        credits = data.get("credits") or {}
        return cls(
            position=int(data.get("position", 0)),
            last_member_id=data.get("last_member_id"),
            credits={str(k): int(v) for k, v in credits.items()},
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class TeamState:
    team_id: str
    name: str = ""
    strategy: Strategy = "round_robin"
    hours: WeeklyHours | None = None  # None: always open
    # Languages every member speaks unless the member lists their own.
    languages: frozenset[str] = frozenset()
    capacity_per_member: int | None = None
    overflow_team_id: str | None = None
    # Minutes of open time to first contact, by urgency ("emergency", "urgent",
    # "routine", ...); "default" applies when the urgency has no entry.
    sla_minutes: Mapping[str, int] = field(default_factory=dict)
    is_urgent_team: bool = False
    # Order matters: it is the rotation order and the tie-breaker.
    members: tuple[MemberState, ...] = ()
    rotation: RotationState = field(default_factory=RotationState)


class Candidate(NamedTuple):
    member_id: str
    skipped: SkipReason | None
    open_leads: int
    assigned_today: int


@dataclass(frozen=True, slots=True)
class Selection:
    member: MemberState | None
    candidates: tuple[Candidate, ...]
    # "none" (no sticky member), "used", "not_in_team" or "skipped:<reason>".
    sticky: str
    rotation: RotationState


def language_code(tag: str) -> str:
    """Primary subtag only: a member who speaks "es" serves an "es-MX" lead."""
    return tag.strip().replace("_", "-").split("-")[0].casefold()


def skip_reason(
    member: MemberState, team: TeamState, language: str | None, now: datetime
) -> SkipReason | None:
    if member.status == "inactive":
        return "inactive"
    if member.status == "away" and (member.away_until is None or now < member.away_until):
        return "away"
    capacity = member.capacity if member.capacity is not None else team.capacity_per_member
    if capacity is not None and member.open_leads >= capacity:
        return "at_capacity"
    if member.daily_cap is not None and member.assigned_today >= member.daily_cap:
        return "daily_cap_reached"
    if language:
        spoken = member.languages or team.languages
        # No language data at all means we cannot tell, so we do not block.
        if spoken and language_code(language) not in {language_code(s) for s in spoken}:
            return "language_mismatch"
    return None


def smooth_pick(
    eligible: Sequence[MemberState], credits: Mapping[str, int], weighted: bool
) -> tuple[MemberState, dict[str, int]]:
    new = dict(credits)
    total = 0
    best: MemberState | None = None
    best_credit = 0
    for member in eligible:
        weight = member.weight if weighted else 1
        total += weight
        credit = new.get(member.member_id, 0) + weight
        new[member.member_id] = credit
        if best is None or credit > best_credit:
            best, best_credit = member, credit
    if best is None:
        raise ValueError("no eligible member")
    new[best.member_id] -= total
    return best, new


def pick(
    strategy: Strategy, eligible: Sequence[MemberState], rotation: RotationState
) -> tuple[MemberState, dict[str, int]]:
    if strategy == "least_loaded":
        fewest = min(m.open_leads for m in eligible)
        # Ties rotate so equal loads do not always favour the first member.
        tied = [m for m in eligible if m.open_leads == fewest]
        return smooth_pick(tied, rotation.credits, weighted=False)
    return smooth_pick(eligible, rotation.credits, weighted=strategy == "weighted")


def select_member(
    team: TeamState,
    strategy: Strategy,
    language: str | None,
    sticky_member_id: str | None,
    now: datetime,
) -> Selection:
    reasons = {m.member_id: skip_reason(m, team, language, now) for m in team.members}
    candidates = tuple(
        Candidate(m.member_id, reasons[m.member_id], m.open_leads, m.assigned_today)
        for m in team.members
    )
    sticky = "none"
    if sticky_member_id is not None:
        owner = next((m for m in team.members if m.member_id == sticky_member_id), None)
        if owner is None:
            sticky = "not_in_team"
        elif reasons[owner.member_id] is None:
            # A returning person goes back to their member; the rotation is untouched.
            return Selection(owner, candidates, "used", team.rotation)
        else:
            sticky = f"skipped:{reasons[owner.member_id]}"
    eligible = [m for m in team.members if reasons[m.member_id] is None]
    if not eligible:
        return Selection(None, candidates, sticky, team.rotation)
    chosen, credits = pick(strategy, eligible, team.rotation)
    current = {m.member_id for m in team.members}
    rotation = RotationState(
        position=team.rotation.position + 1,
        last_member_id=chosen.member_id,
        # Departed members' credits are dropped so the row does not grow forever.
        credits={k: v for k, v in credits.items() if k in current},
    )
    return Selection(chosen, candidates, sticky, rotation)
