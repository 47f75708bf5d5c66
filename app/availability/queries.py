"""Availability's statements past the ORM (app.direct): the free-slot search a decision runs,
and a slot batch's read, insert and update."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

from sqlalchemy import any_, bindparam, insert, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import String

from app.availability.models import Slot
from app.direct import Direct, execute_many, fetch

SLOT_FIELDS = (
    "schedule_id",
    "location_id",
    "practitioner",
    "service_code",
    "appointment_type",
    "status",
    "start",
    "end",
)


@cache
def _free_stmt(typed: bool) -> Direct:
    types = "AND s.appointment_type = ANY(:types)" if typed else ""
    sql = text(f"""
        SELECT s.external_id, s.start, s."end", s.location_id, s.practitioner,
               s.appointment_type
        FROM unnest(CAST(:locations AS uuid[])) AS l(id)
        CROSS JOIN LATERAL (
            SELECT * FROM availability_slots s
            WHERE s.organization_id = :org AND s.location_id = l.id
              AND s.service_code = :service AND s.status = 'free'
              AND s.start >= :now AND s.start < :until {types}
              AND (s.held_until IS NULL OR s.held_until <= :now OR s.held_for_lead = :lead)
            ORDER BY s.start
            LIMIT :per_location
        ) s
    """)  # noqa: S608 - a constant fragment; values are bound
    binds: list[Any] = [bindparam("locations", type_=ARRAY(PG_UUID(as_uuid=True)))]
    if typed:
        binds.append(bindparam("types", type_=ARRAY(String())))
    stmt = sql.bindparams(*binds)
    return Direct(stmt)


async def free_slots(
    session: AsyncSession, params: Mapping[str, Any], *, typed: bool
) -> Sequence[Sequence[Any]]:
    """(external id, start, end, location, practitioner, type) of the first free slots at
    each location (see app.availability.offers.free_slots for the parameters)."""
    return await fetch(session, _free_stmt(typed), params)


_COLUMNS = ("id", "external_id", *SLOT_FIELDS, "source_version", "source_updated_at", "version")
_HELD = Direct(
    select(*(Slot.__table__.c[c] for c in _COLUMNS))
    .where(
        Slot.organization_id == bindparam("org"),
        Slot.external_id == any_(bindparam("ids", type_=ARRAY(String()))),
    )
    .with_for_update()
)
_INSERT = Direct(
    insert(Slot).values(
        {
            c: bindparam(c, type_=Slot.__table__.c[c].type)
            for c in (
                "id",
                "organization_id",
                "external_id",
                *SLOT_FIELDS,
                "pulled",
                "source_version",
                "source_updated_at",
                "version",
                "updated_at",
            )
        }
    )
)
_UPDATE = Direct(
    update(Slot)
    .where(Slot.id == bindparam("b_id"))
    .values(
        {
            c: bindparam(c, type_=Slot.__table__.c[c].type)
            for c in (*SLOT_FIELDS, "source_version", "source_updated_at", "version", "updated_at")
        }
    )
)


async def held_slots(
    session: AsyncSession, org_id: uuid.UUID, external_ids: list[str]
) -> list[dict[str, Any]]:
    """The stored slots among `external_ids`, locked, as column dicts."""
    rows = await fetch(session, _HELD, {"org": org_id, "ids": external_ids})
    return [dict(zip(_COLUMNS, r, strict=True)) for r in rows]


async def write_slots(
    session: AsyncSession,
    inserts: Sequence[Mapping[str, Any]],
    updates: Sequence[Mapping[str, Any]],
) -> None:
    """New slots in one multi-row INSERT, changed ones in one pipelined UPDATE."""
    await execute_many(session, _INSERT, inserts)
    await execute_many(session, _UPDATE, [{**r, "b_id": r["id"]} for r in updates])
