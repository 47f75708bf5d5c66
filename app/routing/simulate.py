"""Routing without consequences: one lead through the real flow, or a replay of history.

A single lead runs the unchanged intake flow (app.intake.flow.simulate: normalise, dedup,
score, route) inside a SAVEPOINT that is then rolled back, so its answer is by
construction the one posting the lead would get; this module checks the lead and loads
the draft rule set for it. A replay re-routes stored leads with a rule set against the
current team configuration, in memory.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections import Counter
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defer

from app.errors import Unprocessable
from app.leads.canonical import CanonicalLead, validation_problems
from app.leads.models import Lead, Source
from app.routing import rulesets, service
from app.routing.config import team_state
from app.routing.core import RoutingError, route
from app.routing.models import Member, Ruleset, Team
from app.routing.rules import CompiledRuleset
from app.routing.strategies import RotationState, TeamState
from app.routing.teams import list_members, list_teams
from app.tenancy import get_owned, scoped

MAX_REPLAY = 20_000


async def compiled(
    session: AsyncSession, org_id: uuid.UUID, ruleset_id: uuid.UUID | None
) -> CompiledRuleset | None:
    """The organisation's rule set `ruleset_id` ready to route with (None: no draft)."""
    if ruleset_id is None:
        return None
    return rulesets.compile_row(await get_owned(session, Ruleset, ruleset_id, org_id))


def canonical_lead(doc: dict[str, Any]) -> CanonicalLead:
    """A simulation's lead, or the 422 naming what does not match the canonical schema."""
    try:
        return CanonicalLead.model_validate(doc)
    except ValidationError as exc:
        errors = [{**e, "field": f"lead.{e['field']}"} for e in validation_problems(exc)]
        raise Unprocessable(
            "The lead does not match the canonical schema.", extra={"errors": errors}
        ) from None


@dataclasses.dataclass
class _Replay:
    states: dict[str, TeamState]
    teams: dict[str, Team]
    # (member id) -> (team-local date, assigned that day), for daily caps.
    days: dict[str, tuple[dt.date, int]] = dataclasses.field(default_factory=dict)

    def at(self, when: dt.datetime) -> dict[str, TeamState]:
        out = {}
        for tid, state in self.states.items():
            local = self._local_date(tid, when)
            members = tuple(
                dataclasses.replace(m, assigned_today=self._today(m.member_id, local))
                for m in state.members
            )
            out[tid] = dataclasses.replace(state, members=members)
        return out

    def _local_date(self, team_id: str, when: dt.datetime) -> dt.date:
        return when.astimezone(ZoneInfo(self.teams[team_id].time_zone)).date()

    def _today(self, member_id: str, local: dt.date) -> int:
        day, count = self.days.get(member_id, (local, 0))
        return count if day == local else 0

    def record(
        self, team_id: str, member_id: str | None, rotation: RotationState, when: dt.datetime
    ) -> None:
        self.states[team_id] = dataclasses.replace(self.states[team_id], rotation=rotation)
        if member_id is not None:
            local = self._local_date(team_id, when)
            self.days[member_id] = (local, self._today(member_id, local) + 1)


async def _history(
    session: AsyncSession,
    org_id: uuid.UUID,
    start: dt.datetime,
    end: dt.datetime,
    *,
    with_pii: bool,
) -> list[Lead]:
    """The period's leads; their encrypted documents only when a rule reads the ZIP."""
    stmt = (
        scoped(Lead, org_id)
        .where(
            Lead.received_at >= start,
            Lead.received_at < end,
            Lead.erased_at.is_(None),
            Lead.is_test.is_(False),
            Lead.status != "pending_retrieval",
        )
        .options(*(() if with_pii else (defer(Lead.pii),)))
        .order_by(Lead.received_at, Lead.id)
        .limit(MAX_REPLAY + 1)
    )
    return list((await session.execute(stmt)).scalars())


async def replay(
    session: AsyncSession,
    org_id: uuid.UUID,
    ruleset_id: uuid.UUID,
    start: dt.datetime,
    end: dt.datetime,
) -> dict[str, Any]:
    """Actual vs simulated distribution by team and member for leads received in [start, end).

    Modelled: rules, hours, overflow, rotation, member status (at each lead's time), daily
    caps. Not modelled: open-lead capacity (when past leads closed is not replayed) and
    sticky owners.
    """
    ruleset = await compiled(session, org_id, ruleset_id)
    assert ruleset is not None
    teams = {str(t.id): t for t in await list_teams(session, org_id)}
    members = await list_members(session, org_id)
    sim = _Replay({tid: team_state(t, members) for tid, t in teams.items()}, teams)
    kinds = {
        str(sid): kind
        for sid, kind in (
            await session.execute(
                select(Source.id, Source.kind).where(Source.organization_id == org_id)
            )
        ).all()
    }
    with_zip = ruleset.uses("zip")
    leads = await _history(session, org_id, start, end, with_pii=with_zip)
    truncated = len(leads) > MAX_REPLAY
    leads = leads[:MAX_REPLAY]
    actual: Counter[tuple[str | None, str | None]] = Counter()
    simulated: Counter[tuple[str | None, str | None]] = Counter()
    changed = 0
    for lead in leads:
        before = (_s(lead.team_id), _s(lead.member_id))
        facts = service.facts_for(lead, kinds.get(str(lead.source_id), "api"), with_zip=with_zip)
        try:
            decision = route(facts, ruleset, sim.at(lead.received_at), lead.received_at)
        except RoutingError:
            after: tuple[str | None, str | None] = (None, None)
        else:
            after = (decision.team_id, decision.member_id)
            sim.record(
                decision.team_id, decision.member_id, decision.new_rotation, lead.received_at
            )
        actual[before] += 1
        simulated[after] += 1
        changed += before != after
    return {
        "mode": "replay",
        "ruleset_version": ruleset.version,
        "from": start.isoformat(),
        "to": end.isoformat(),
        "leads": len(leads),
        "truncated": truncated,
        "changed": changed,
        **_distribution(actual, simulated, teams, members),
    }


def _s(value: uuid.UUID | None) -> str | None:
    return str(value) if value is not None else None


def _distribution(
    actual: Counter[tuple[str | None, str | None]],
    simulated: Counter[tuple[str | None, str | None]],
    teams: dict[str, Team],
    members: list[Member],
) -> dict[str, Any]:
    names = {str(m.id): m.display_name for m in members}
    by_team_a: Counter[str | None] = Counter()
    by_team_s: Counter[str | None] = Counter()
    for (team, _), n in actual.items():
        by_team_a[team] += n
    for (team, _), n in simulated.items():
        by_team_s[team] += n
    team_rows = [
        {
            "team_id": tid,
            "name": teams[tid].name if tid in teams else None,
            "actual": by_team_a[tid],
            "simulated": by_team_s[tid],
            "delta": by_team_s[tid] - by_team_a[tid],
        }
        for tid in sorted(set(by_team_a) | set(by_team_s), key=lambda t: (t is None, t or ""))
    ]
    keys = sorted(set(actual) | set(simulated), key=lambda k: (k[0] or "~", k[1] or "~"))
    member_rows = [
        {
            "team_id": team,
            "member_id": member,
            "display_name": names.get(member) if member else None,
            "actual": actual[(team, member)],
            "simulated": simulated[(team, member)],
            "delta": simulated[(team, member)] - actual[(team, member)],
        }
        for team, member in keys
    ]
    return {"teams": team_rows, "members": member_rows}
