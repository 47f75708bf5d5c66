"""Member loads: each candidate's open leads and leads routed today, read under the lock.

Routing reads them on every decision, inside the team's rotation lock, so they are counters
kept by a trigger on leads (migration 0013), not counts: a row per member and at most a day
of quarter-hour slots, whatever the members' history. Claims of leads not committed yet
(app.routing.claims) are added, and the member of the lead's person's previous lead is read
in the same round trip.
"""

from __future__ import annotations

import datetime as dt
import uuid
from functools import cache
from typing import Any

from sqlalchemy import Select, any_, bindparam, func, literal, or_, select, union_all
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import UUID as PG_UUID

from app.direct import Direct, Target, fetch
from app.leads.models import Lead, same_person
from app.routing import claims
from app.routing.models import MemberLoad, MemberRoutedSlot

# A lead's routed time counts in the quarter-hour slot it falls in (migration 0013).
SLOT_SECONDS = 900


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
        parts.append(claims.loads_part(members))
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
    live claims of leads not committed yet (app.routing.claims), and the member of
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
              "claims_after": now - claims.CLAIM_TTL}  # fmt: skip
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
