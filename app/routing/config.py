"""Teams and members as the router sees them, cached per organisation between changes.

Every lead needs every team (rules, overflow chains and the urgent team may all be involved),
so the teams and members are turned into decision-core states once per configuration version
(app.configcache) instead of on every lead. What changes with each lead (rotation, member
loads) is not here: the router reads it live, under the rotation lock.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import cast
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from app import configcache
from app.fields import coerce_aware
from app.routing.models import Member, Team
from app.routing.strategies import MemberState, MemberStatus, RotationState, Strategy, TeamState
from app.routing.teams import list_members, list_teams, team_hours


def member_state(member: Member) -> MemberState:
    """A member without live state: loads are filled in per lead (`with_live_state`)."""
    return MemberState(
        member_id=str(member.id),
        name=member.display_name,
        status=cast(MemberStatus, member.status),
        # Rows written before times were range-checked may hold -infinity (naive).
        away_until=coerce_aware(member.away_until),
        languages=frozenset(member.languages),
        weight=member.weight,
        daily_cap=member.daily_cap,
        open_leads=0,
        assigned_today=0,
    )


def team_state(team: Team, members: Sequence[Member]) -> TeamState:
    """A team without live state: rotation and loads are filled in per lead."""
    return TeamState(
        team_id=str(team.id),
        name=team.name,
        strategy=cast(Strategy, team.strategy),
        hours=team_hours(team),
        languages=frozenset(team.languages),
        capacity_per_member=team.capacity_per_member,
        overflow_team_id=str(team.overflow_team_id) if team.overflow_team_id else None,
        sla_minutes={str(k): int(v) for k, v in team.sla_minutes.items()},
        is_urgent_team=team.is_urgent_team,
        members=tuple(member_state(m) for m in members if m.team_id == team.id),
        rotation=RotationState(),
    )


@dataclass(frozen=True, slots=True)
class RoutingConfig:
    # Team id -> state without rotation or loads; members in rotation order.
    teams: Mapping[str, TeamState]
    time_zones: Mapping[str, str]

    def day_start(self, team_id: str, now: dt.datetime) -> dt.datetime:
        """Midnight of `now`'s day in the team's time zone: where "assigned today" starts."""
        zone = ZoneInfo(self.time_zones[team_id])
        local = now.astimezone(zone).date()
        return dt.datetime(local.year, local.month, local.day, tzinfo=zone)


def overflow_chain(start: str, teams: Mapping[str, TeamState]) -> list[str]:
    chain = [start]
    nxt = teams[start].overflow_team_id
    while nxt is not None and nxt in teams and nxt not in chain:
        chain.append(nxt)
        nxt = teams[nxt].overflow_team_id
    return chain


def with_live_state(
    state: TeamState, rotation: RotationState, loads: Mapping[str, tuple[int, int]]
) -> TeamState:
    members = tuple(
        dataclasses.replace(m, open_leads=load[0], assigned_today=load[1])
        if (load := loads.get(m.member_id)) is not None
        else m
        for m in state.members
    )
    return dataclasses.replace(state, members=members, rotation=rotation)


async def routing_config(session: AsyncSession, org_id: uuid.UUID) -> RoutingConfig:
    async def load() -> RoutingConfig:
        teams = await list_teams(session, org_id)
        members = await list_members(session, org_id)
        return RoutingConfig(
            teams=MappingProxyType({str(t.id): team_state(t, members) for t in teams}),
            time_zones=MappingProxyType({str(t.id): t.time_zone for t in teams}),
        )

    return await configcache.cached(session, org_id, "routing", load)
