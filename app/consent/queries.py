"""Consent's statements on the intake path, sent straight through asyncpg (app.direct)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import String, and_, any_, bindparam, distinct, func, insert, or_, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from app.consent.models import ConsentEvent, Suppression
from app.direct import Direct, execute_many, fetch

_INSERT_EVENT = Direct(
    insert(ConsentEvent).values({c.key: bindparam(c.key) for c in ConsentEvent.__table__.columns})
)


async def insert_events(session: AsyncSession, rows: Sequence[Mapping[str, Any]]) -> None:
    """Consent events, each row every column of `consent_events`, in one round trip."""
    await execute_many(session, _INSERT_EVENT, rows)


def _suppressed_stmt() -> Direct:
    """The channels suppressed for some phone and email hashes (NULL for none)."""
    channel = func.unnest(Suppression.channels).column_valued("c")
    hashes = {k: bindparam(f"sup_{k}", type_=ARRAY(String)) for k in ("phone", "email")}
    matches = [
        and_(Suppression.kind == k, Suppression.value_hash == any_(h)) for k, h in hashes.items()
    ]
    return Direct(
        select(func.array_agg(distinct(channel)))
        .select_from(Suppression)
        .where(Suppression.organization_id == bindparam("sup_org"), or_(*matches))
    )


_SUPPRESSED = _suppressed_stmt()


async def suppressed_channels(
    session: AsyncSession, org_id: uuid.UUID, hashes: dict[str, list[str]]
) -> frozenset[str]:
    """The channels the suppression list blocks for any of these phone and email hashes."""
    phone, email = hashes.get("phone", []), hashes.get("email", [])
    if not phone and not email:
        return frozenset()
    params = {"sup_org": org_id, "sup_phone": phone, "sup_email": email}
    return frozenset((await fetch(session, _SUPPRESSED, params))[0][0] or ())
