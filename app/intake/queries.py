"""Intake's own statements on the hot path, sent straight through asyncpg (app.direct).

The identity lock and the duplicate search run on every lead, so each is built once per
shape, with bound parameters: intake pays no statement construction. A webhook delivery's
inbox row is written once, with its answer (app.intake.service).
"""

from __future__ import annotations

import datetime as dt
import uuid
from functools import cache

from sqlalchemy import bindparam, exists, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.direct import Direct, fetch, insert_row, row_values
from app.intake.models import InboxDelivery
from app.leads.models import Lead, same_person


@cache
def _lock_stmt(keys: int) -> Direct:
    locks = [text(f"pg_advisory_xact_lock(hashtextextended(:k{i}, 0))") for i in range(keys)]
    return Direct(select(*locks))


async def lock_identity(
    session: AsyncSession, org_id: uuid.UUID, phone: str | None, email: str | None
) -> None:
    """Serialise concurrent submissions of one person, so they can't both create a lead."""
    hashes = [h for h in (phone, email) if h]
    if not hashes:
        return
    # Sorted keys give every transaction the same lock order (no deadlock).
    keys = {f"k{i}": f"lead-identity:{org_id}:{h}" for i, h in enumerate(sorted(hashes))}
    await fetch(session, _lock_stmt(len(keys)), keys)


class Redelivered(Exception):
    """The webhook delivery being processed was stored by an earlier attempt meanwhile."""


@cache
def _duplicate_stmt(by_phone: bool, by_email: bool, guard: bool) -> Direct:
    """Only the id, sent past the ORM: nine leads in ten find none, and the ORM's execution
    of a query costs several times its round trip (py-spy: 5 % of an intake process).
    With `guard`, the same round trip says whether the delivery's event is stored already
    (the flow writes its inbox row last)."""
    by_person = same_person(by_phone, by_email)
    found = (
        select(Lead.id)
        .where(
            Lead.organization_id == bindparam("org"),
            or_(*by_person),
            Lead.received_at >= bindparam("since"),
            Lead.erased_at.is_(None),
            Lead.status != "pending_retrieval",
        )
        .order_by(Lead.received_at)
        .limit(1)
        .with_for_update()
        .scalar_subquery()
    )
    stored = exists().where(
        InboxDelivery.source_id == bindparam("source"), InboxDelivery.event_id == bindparam("event")
    )
    return Direct(select(found, stored) if guard else select(found))


async def find_duplicate(
    session: AsyncSession,
    org_id: uuid.UUID,
    phone: str | None,
    email: str | None,
    since: dt.datetime,
    redelivery_of: tuple[uuid.UUID, str] | None = None,
) -> Lead | None:
    """The person's earlier lead, locked. With `redelivery_of` (a webhook's source and
    event id), raises Redelivered if that event was stored since the delivery arrived."""
    if not phone and not email:
        return None
    stmt = _duplicate_stmt(bool(phone), bool(email), redelivery_of is not None)
    params = {"org": org_id, "phone": phone, "email": email, "since": since}
    if redelivery_of is not None:
        params["source"], params["event"] = redelivery_of
    [row] = await fetch(session, stmt, params)
    if redelivery_of is not None and row[1]:
        raise Redelivered
    if row[0] is None:
        return None
    # Locked above by this transaction, so the row loaded now is the one found.
    return await session.get_one(Lead, row[0])


_INBOX = Direct(
    insert_row(InboxDelivery, "i_")
    .on_conflict_do_nothing(index_elements=["source_id", "event_id"])
    .returning(InboxDelivery.id)
)


async def insert_inbox(session: AsyncSession, inbox: InboxDelivery) -> bool:
    """Write a delivery's row (never added to the session), with its answer: False when its
    source already has a row for the same event, which is then left as it is."""
    return bool(await fetch(session, _INBOX, row_values(inbox, "i_")))
