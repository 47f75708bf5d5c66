"""Member choices committed before their leads (routing_claims, migration 0011).

Intake chooses a member in a short transaction of its own: lock the team's rotation row,
read member loads, decide, save the rotation, leave a claim, commit. The lock is held for
those few statements instead of until the lead's own transaction commits, which every lead
of a team would otherwise wait for in turn. Member loads count claims beside leads, so a
capacity or daily cap check still sees every member choice committed before it: the lead's
transaction deletes its claim as it writes the lead, and the lead takes the claim's place
in the counts at the moment that transaction commits.

A claim whose lead never commits (the request failed after routing) counts against its
member for CLAIM_TTL, then stops counting and is deleted by a later lead's transaction. Its
rotation turn is spent, as a sequence number is.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Select, bindparam, delete, func, literal, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.direct import Direct, Target, fetch
from app.routing.models import RoutingClaim, TeamRotation

# Longer than any intake request lives; a claim older than this has no lead coming.
CLAIM_TTL = dt.timedelta(minutes=5)


def loads_part(members: Any) -> Select[uuid.UUID, int, int, bool]:
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
SAVE_ROTATION = (
    update(TeamRotation)
    .where(TeamRotation.team_id == bindparam("team"))
    .values(state=bindparam("state"), updated_at=bindparam("at"))
)
# The claim, with the rotation saved in the same round trip.
_SAVE_AND_CLAIM = Direct(
    _CLAIM_STMT.add_cte(SAVE_ROTATION.returning(TeamRotation.team_id).cte("saved"))
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
