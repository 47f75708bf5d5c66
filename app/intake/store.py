"""Rows intake writes past the ORM, each in one statement.

A new lead and its first submission: the ORM's flush of these two rows was the largest
share of SQLAlchemy left in an intake request (py-spy), and two round trips; the routing
claim's settlement (app.routing.claims) a third. One INSERT with the other two as CTEs does
all three: PostgreSQL checks the submission's foreign key at the end of the statement, when
the lead's row is there. The lead is then attached to the session as if loaded, so a later
change to it is an UPDATE.

A webhook delivery's inbox row, written once with its answer (app.intake.service).
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from typing import Any

from sqlalchemy import bindparam
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapper, class_mapper, make_transient_to_detached

from app.db import Base
from app.direct import Direct, fetch
from app.intake.models import InboxDelivery
from app.leads.models import Lead, LeadSubmission
from app.routing import claims
from app.routing.models import RoutingClaim


@cache
def _columns(model: type[Base]) -> list[tuple[str, Any]]:
    """(attribute, column) of every mapped column of `model`: read from the mapper once,
    not for every row written."""
    mapper: Mapper[Any] = class_mapper(model)
    return [(prop.key, prop.columns[0]) for prop in mapper.column_attrs]


def _values(obj: Base, prefix: str) -> dict[str, Any]:
    """The row's parameters, with the column defaults the ORM would have applied. Each is
    set on the object too: it then holds what the row holds, and an attribute never set is
    not taken for an expired one once the object is attached."""
    out: dict[str, Any] = {}
    for key, column in _columns(type(obj)):
        value = getattr(obj, key)
        if value is None and column.default is not None:
            value = column.default.arg(None) if column.default.is_callable else column.default.arg
        setattr(obj, key, value)
        out[prefix + key] = value
    return out


def _insert(model: type[Base], prefix: str) -> Any:
    columns = _columns(model)
    # Every column is sent, so a default only the server knows would be overwritten by NULL.
    server_only = [
        key for key, col in columns if col.server_default is not None and col.default is None
    ]
    assert not server_only, f"{model.__name__}: give {server_only} a Python default too"
    values = {key: bindparam(prefix + key, type_=col.type) for key, col in columns}
    return insert(model).values(values)


@cache
def _stmt(settle: bool) -> Direct:
    lead = _insert(Lead, "l_").returning(Lead.id).cte("new_lead")
    stmt = _insert(LeadSubmission, "s_").add_cte(lead)
    if settle:
        stmt = stmt.add_cte(claims.SETTLE.returning(RoutingClaim.lead_id).cte("settled"))
    return Direct(stmt)


async def insert_new(
    session: AsyncSession, lead: Lead, submission: LeadSubmission, now: dt.datetime
) -> None:
    """Write a new lead (never added to the session) and its submission; a lead given a
    member also settles its routing claim. The lead joins the session afterwards."""
    params = {**_values(lead, "l_"), **_values(submission, "s_")}
    settle = lead.member_id is not None
    if settle:
        params.update(claims.settle_params(lead.id, now))
    await fetch(session, _stmt(settle), params)
    make_transient_to_detached(lead)
    session.add(lead)


_INBOX = Direct(
    _insert(InboxDelivery, "i_")
    .on_conflict_do_nothing(index_elements=["source_id", "event_id"])
    .returning(InboxDelivery.id)
)


async def insert_inbox(session: AsyncSession, inbox: InboxDelivery) -> bool:
    """Write a delivery's row (never added to the session); False when its source already
    has a row for the same event, which is then left as it is."""
    return bool(await fetch(session, _INBOX, _values(inbox, "i_")))
