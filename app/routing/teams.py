"""Teams and members: configuration the router reads on every decision."""

from __future__ import annotations

import datetime as dt
import functools
import json
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import Conflict, Unprocessable
from app.hours import HoursError, WeeklyHours, parse_hours
from app.routing.models import Member, Team, TeamRotation
from app.routing.schemas import (
    MemberCreate,
    MemberOut,
    MemberPatch,
    TeamCreate,
    TeamOut,
    TeamPatch,
)
from app.tenancy import get_owned, scoped


def _invalid(field: str, message: str) -> Unprocessable:
    return Unprocessable(
        "The team configuration is invalid; see `errors`.",
        extra={"errors": [{"field": field, "message": message}]},
    )


def team_hours(team: Team) -> WeeklyHours | None:
    if team.hours is None:
        return None
    # Every lead reads every team's hours; parse each distinct configuration once.
    key = json.dumps([team.hours, team.time_zone, team.holidays], sort_keys=True)
    return _parsed_hours(key)


@functools.lru_cache(maxsize=1024)
def _parsed_hours(key: str) -> WeeklyHours:
    hours, time_zone, holidays = json.loads(key)
    return parse_hours({**hours, "time_zone": time_zone, "holidays": holidays})


def _check_hours(hours: dict[str, Any] | None, time_zone: str, holidays: list[str]) -> None:
    doc = {**(hours or {}), "time_zone": time_zone, "holidays": holidays}
    try:
        parse_hours(doc)
    except HoursError as exc:
        top_level = exc.path.startswith(("/time_zone", "/holidays"))
        field = exc.path if top_level else f"/hours{exc.path}"
        raise _invalid(field, exc.message) from None


async def _check_overflow(
    session: AsyncSession, org_id: uuid.UUID, team_id: uuid.UUID, overflow: uuid.UUID | None
) -> None:
    if overflow is None:
        return
    if overflow == team_id:
        raise _invalid("/overflow_team_id", "a team cannot overflow to itself")
    found = await session.scalar(
        select(Team.id).where(Team.organization_id == org_id, Team.id == overflow)
    )
    if found is None:
        raise _invalid("/overflow_team_id", "no such team")


def _apply(team: Team, values: dict[str, Any]) -> None:
    for key, value in values.items():
        if key == "holidays":
            value = [d.isoformat() for d in value]
        setattr(team, key, value)


async def create_team(session: AsyncSession, org_id: uuid.UUID, body: TeamCreate) -> Team:
    team = Team(id=uuid.uuid4(), organization_id=org_id)
    _apply(team, body.model_dump())
    _check_hours(team.hours, team.time_zone, team.holidays)
    await _check_overflow(session, org_id, team.id, team.overflow_team_id)
    session.add(team)
    await session.flush()
    # The row exists from the start so routing only ever locks, never inserts.
    session.add(TeamRotation(team_id=team.id, organization_id=org_id, state={}))
    await session.flush()
    return team


async def update_team(
    session: AsyncSession, org_id: uuid.UUID, team_id: uuid.UUID, body: TeamPatch
) -> Team:
    team = await get_owned(session, Team, team_id, org_id, for_update=True)
    values = body.model_dump(exclude_unset=True)
    # Checked before the change is applied: the check's query would flush an unknown id.
    if "overflow_team_id" in values:
        await _check_overflow(session, org_id, team.id, values["overflow_team_id"])
    _apply(team, values)
    _check_hours(team.hours, team.time_zone, team.holidays)
    await session.flush()
    return team


async def list_teams(session: AsyncSession, org_id: uuid.UUID) -> list[Team]:
    stmt = scoped(Team, org_id).order_by(Team.created_at, Team.id)
    return list((await session.execute(stmt)).scalars())


async def list_members(
    session: AsyncSession, org_id: uuid.UUID, team_ids: Sequence[uuid.UUID] | None = None
) -> list[Member]:
    """Members in rotation order (creation order): the order the strategies rely on."""
    stmt = scoped(Member, org_id)
    if team_ids is not None:
        stmt = stmt.where(Member.team_id.in_(team_ids))
    return list((await session.execute(stmt.order_by(Member.created_at, Member.id))).scalars())


def to_out(team: Team, members: Sequence[Member]) -> TeamOut:
    return TeamOut(
        id=team.id,
        name=team.name,
        kind=team.kind,
        services=team.services,
        location_ids=team.location_ids,
        languages=team.languages,
        hours=team.hours,
        time_zone=team.time_zone,
        holidays=team.holidays,
        sla_minutes=team.sla_minutes,
        capacity_per_member=team.capacity_per_member,
        strategy=team.strategy,
        overflow_team_id=team.overflow_team_id,
        is_urgent_team=team.is_urgent_team,
        max_escalations=team.max_escalations,
        members=[MemberOut.model_validate(m) for m in members if m.team_id == team.id],
        created_at=team.created_at,
        updated_at=team.updated_at,
    )


async def _check_external_id(
    session: AsyncSession, org_id: uuid.UUID, external_id: str | None, member_id: uuid.UUID
) -> None:
    if external_id is None:
        return
    taken = await session.scalar(
        select(Member.id).where(
            Member.organization_id == org_id,
            Member.external_id == external_id,
            Member.id != member_id,
        )
    )
    if taken is not None:
        raise Conflict("Another member already has this external_id.")


def _check_away(status: str, away_until: dt.datetime | None) -> None:
    if away_until is not None and away_until.tzinfo is None:
        raise _invalid("/away_until", "a time zone offset is required")
    if away_until is not None and status != "away":
        raise _invalid("/away_until", "only an `away` member has away_until")


async def create_member(
    session: AsyncSession, org_id: uuid.UUID, team_id: uuid.UUID, body: MemberCreate
) -> Member:
    team = await get_owned(session, Team, team_id, org_id)
    member = Member(id=uuid.uuid4(), organization_id=org_id, team_id=team.id, **body.model_dump())
    _check_away(member.status, member.away_until)
    await _check_external_id(session, org_id, member.external_id, member.id)
    session.add(member)
    await session.flush()
    return member


async def update_member(
    session: AsyncSession, org_id: uuid.UUID, member_id: uuid.UUID, body: MemberPatch
) -> Member:
    member = await get_owned(session, Member, member_id, org_id, for_update=True)
    values = body.model_dump(exclude_unset=True)
    if "team_id" in values:
        await get_owned(session, Team, values["team_id"], org_id)
    if values.get("status") not in (None, "away") and "away_until" not in values:
        values["away_until"] = None
    # Checked before the change is applied: the check's query would flush a taken id.
    await _check_external_id(
        session, org_id, values.get("external_id", member.external_id), member.id
    )
    for key, value in values.items():
        setattr(member, key, value)
    _check_away(member.status, member.away_until)
    await session.flush()
    return member
