"""Routing's statements, sent straight through asyncpg (app.direct): rotation locks, member
loads, and claims.

Rotations. A team's member choice is serialised by `SELECT … FOR UPDATE` on its rotation
row; every team a lead could land on is locked in team id order, so two requests never wait
on each other in a cycle.

Member loads: each candidate's open leads and leads routed today, read under the lock. They
are counters kept by a trigger on leads (migration 0013), not counts: a row per member and
at most a day of quarter-hour slots, whatever the members' history. Claims of leads not
committed yet are added, and the member of the lead's person's previous lead is read in the
same round trip.

Claims (routing_claims, migration 0011): member choices committed before their leads.
Intake chooses a member in a short transaction of its own: lock the team's rotation row,
read member loads, decide, save the rotation, leave a claim, commit. The lock is held for
those few statements instead of until the lead's own transaction commits, which every lead
of a team would otherwise wait for in turn. Member loads count claims beside leads, so a
capacity or daily cap check still sees every member choice committed before it: the lead's
transaction deletes its claim, and the lead takes the claim's place in the counts at the
moment that transaction commits. A claim whose lead never commits (the request failed after
routing) counts against its member for CLAIM_TTL, then stops counting and is deleted by a
later lead's transaction. Its rotation turn is spent, as a sequence number is.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

from sqlalchemy import (
    Select,
    any_,
    bindparam,
    delete,
    func,
    literal,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.direct import Direct, Target, fetch
from app.leads.models import Lead, same_person
from app.routing.models import MemberLoad, MemberRoutedSlot, RoutingClaim, TeamRotation

# Longer than any intake request lives; a claim older than this has no lead coming.
CLAIM_TTL = dt.timedelta(minutes=5)
# A lead's routed time counts in the quarter-hour slot it falls in (migration 0013).
SLOT_SECONDS = 900

# --- claims -------------------------------------------------------------------------------


def _claims_part(members: Any) -> Select[uuid.UUID, int, int, bool]:
    """Claims per member, shaped as the leads part of the member-loads statement: each
    claim is an open lead, and one routed today when claimed since `:since`."""
    return (
        select(
            RoutingClaim.member_id,
            func.count(),
            func.count().filter(RoutingClaim.claimed_at >= bindparam("since")),
            literal(False),
        )
        .where(
            RoutingClaim.member_id == members,
            RoutingClaim.claimed_at > bindparam("claims_after"),
        )
        .group_by(RoutingClaim.member_id)
    )


_UPSERT = pg_insert(RoutingClaim).values(
    lead_id=bindparam("lead"),
    organization_id=bindparam("org"),
    member_id=bindparam("member"),
    claimed_at=bindparam("at"),
)
# A lead routed again after a failed attempt (a Meta placeholder, a queued lead) replaces
# its stale claim.
_CLAIM_STMT = _UPSERT.on_conflict_do_update(
    index_elements=[RoutingClaim.lead_id],
    set_={"member_id": _UPSERT.excluded.member_id, "claimed_at": _UPSERT.excluded.claimed_at},
)
_CLAIM = Direct(_CLAIM_STMT)
# A team's new rotation position, saved after a choice that moved it.
_SAVE_ROTATION_STMT = (
    update(TeamRotation)
    .where(TeamRotation.team_id == bindparam("team"))
    .values(state=bindparam("state"), updated_at=bindparam("at"))
)
# The claim, with the rotation saved in the same round trip.
_SAVE_AND_CLAIM = Direct(
    _CLAIM_STMT.add_cte(_SAVE_ROTATION_STMT.returning(TeamRotation.team_id).cte("saved"))
)

# Expired claims are taken with SKIP LOCKED: two leads settling at once never wait on each
# other for a stranger's leftover.
_SETTLE = Direct(
    delete(RoutingClaim).where(
        or_(
            RoutingClaim.lead_id == bindparam("lead"),
            RoutingClaim.lead_id.in_(
                select(RoutingClaim.lead_id)
                .where(RoutingClaim.claimed_at < bindparam("expired"))
                .with_for_update(skip_locked=True)
            ),
        )
    )
)


async def claim(
    session: Target,
    org_id: uuid.UUID,
    lead_id: uuid.UUID,
    member_id: uuid.UUID,
    now: dt.datetime,
    rotation: Mapping[str, Any] | None = None,
) -> None:
    """In the routing transaction: the member is taken for this lead, and the team's
    rotation saved (`rotation`: the parameters of routing's save, if the choice moved it)."""
    params = {"lead": lead_id, "org": org_id, "member": member_id, "at": now}
    if rotation is None:
        await fetch(session, _CLAIM, params)
    else:
        await fetch(session, _SAVE_AND_CLAIM, {**rotation, **params})


async def settle(session: AsyncSession, lead_id: uuid.UUID, now: dt.datetime) -> None:
    """In the lead's transaction: its row replaces its claim (and expired claims go)."""
    await fetch(session, _SETTLE, {"lead": lead_id, "expired": now - CLAIM_TTL})


# --- rotations ------------------------------------------------------------------------------


# Locked in team id order, so two requests never wait on each other in a cycle.
_LOCK_ROTATIONS = Direct(
    select(TeamRotation.team_id, TeamRotation.state)
    .where(
        TeamRotation.organization_id == bindparam("org"),
        TeamRotation.team_id == any_(bindparam("teams", type_=ARRAY(PG_UUID(as_uuid=True)))),
    )
    .order_by(TeamRotation.team_id)
    .with_for_update()
)


async def lock_rotations(
    session: Target, org_id: uuid.UUID, team_ids: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """Each locked team's rotation state; a team without a row has none yet."""
    rows = await fetch(
        session, _LOCK_ROTATIONS, {"org": org_id, "teams": [uuid.UUID(t) for t in team_ids]}
    )
    return {str(team_id): state or {} for team_id, state in rows}


_SAVE_ROTATION = Direct(_SAVE_ROTATION_STMT)


async def save_rotation(session: Target, params: Mapping[str, Any]) -> None:
    """A team's new rotation position (`team`, `state`, `at`)."""
    await fetch(session, _SAVE_ROTATION, params)


# --- member loads --------------------------------------------------------------------------


def slots_from(since: dt.datetime) -> dt.datetime:
    """The first slot wholly at or after `since`: every time zone's midnight is one, so the
    daily count is a sum of slots; a `since` between slots has its edge counted on leads."""
    seconds = since.timestamp()
    return since + dt.timedelta(seconds=-seconds % SLOT_SECONDS)


def _counter_parts(members: Any, edge: bool) -> list[Select[Any, int, int, bool]]:
    """Open leads and leads routed since `:slots_from`, per member, from the counters; with
    `edge`, the leads routed in [`:since`, `:slots_from`) counted on the leads themselves."""
    parts: list[Select[Any, int, int, bool]] = [
        select(MemberLoad.member_id, MemberLoad.open_leads, literal(0), literal(False)).where(
            MemberLoad.organization_id == bindparam("org"), MemberLoad.member_id == members
        ),
        select(
            MemberRoutedSlot.member_id, literal(0), func.sum(MemberRoutedSlot.routed),
            literal(False),
        )
        .where(
            MemberRoutedSlot.organization_id == bindparam("org"),
            MemberRoutedSlot.member_id == members,
            MemberRoutedSlot.slot >= bindparam("slots_from"),
        )
        .group_by(MemberRoutedSlot.member_id),
    ]  # fmt: skip
    if edge:
        parts.append(
            select(Lead.member_id, literal(0), func.count(), literal(False))
            .where(
                Lead.organization_id == bindparam("org"),
                Lead.member_id == members,
                Lead.routed_at >= bindparam("since"),
                Lead.routed_at < bindparam("slots_from"),
            )
            .group_by(Lead.member_id)
        )
    return parts


@cache
def _loads_stmt(with_members: bool, by_phone: bool, by_email: bool, edge: bool = False) -> Direct:
    """The member-loads statement, built once per shape: its parameters are bound, so a
    decision pays neither statement construction nor cache-key generation (about 0.6 ms,
    inside the rotation lock). Open leads and today's leads are read from the counters a
    trigger keeps (migration 0013), a row per member and at most a day of slots, whatever
    the members' history; member_loads adds the parts up."""
    parts: list[Select[Any, int, int, bool]] = []
    if with_members:
        members = any_(bindparam("members", type_=ARRAY(PG_UUID(as_uuid=True))))
        parts.extend(_counter_parts(members, edge))
        parts.append(_claims_part(members))
    by_person = same_person(by_phone, by_email)
    if by_person:
        # The member who handled this person's earlier lead: a returning person goes back.
        found = (
            select(Lead.member_id)
            .where(
                Lead.organization_id == bindparam("org"),
                Lead.id != bindparam("lead"),
                Lead.member_id.is_not(None),
                or_(*by_person),
            )
            .order_by(Lead.received_at.desc())
            .limit(1)
            .subquery()
        )
        parts.append(select(found.c.member_id, literal(0), literal(0), literal(True)))
    return Direct(parts[0] if len(parts) == 1 else union_all(*parts))


async def member_loads(
    session: Target,
    org_id: uuid.UUID,
    member_ids: list[uuid.UUID],
    since: dt.datetime,
    now: dt.datetime,
    previous_of: Lead | None = None,
) -> tuple[dict[str, tuple[int, int]], str | None]:
    """(open leads, routed since `since`) per member, from the counters on leads plus the
    live claims of leads not committed yet, and the member of
    `previous_of`'s person's latest earlier lead, in the same round trip."""
    phone = previous_of.phone_hash if previous_of is not None else None
    email = previous_of.email_hash if previous_of is not None else None
    if not member_ids and not phone and not email:
        return {}, None
    first_slot = slots_from(since)
    stmt = _loads_stmt(bool(member_ids), bool(phone), bool(email), first_slot != since)
    lead_id = previous_of.id if previous_of is not None else None
    params = {"org": org_id, "members": member_ids, "since": since, "slots_from": first_slot,
              "phone": phone, "email": email, "lead": lead_id,
              "claims_after": now - CLAIM_TTL}  # fmt: skip
    loads: dict[str, tuple[int, int]] = {}
    sticky = None
    for member_id, open_leads, today_count, is_previous in await fetch(session, stmt, params):
        if member_id is None:
            continue
        if is_previous:
            sticky = str(member_id)
        else:
            before = loads.get(str(member_id), (0, 0))
            loads[str(member_id)] = (before[0] + open_leads, before[1] + today_count)
    return loads, sticky
