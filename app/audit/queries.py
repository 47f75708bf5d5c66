"""The audit trail's statements: its rows written past the ORM (one a request, on every
request), and the trail read back: who read or changed what, when, from where, and how it
ended."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, bindparam, cast, insert, literal, or_, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from app import pagination
from app.audit.models import AuditEvent
from app.audit.schemas import AuditEventList, AuditEventOut
from app.auth.models import ApiKey
from app.direct import Direct, Target, fetch

MAX_LIMIT = 1000

_COLUMNS = ("organization_id", "actor_key_id", "action", "target_type", "target_id",
            "request_id", "client_ip", "details", "created_at", "outcome", "status_code",
            "problem_type", "route")  # fmt: skip
_INSERT = Direct(insert(AuditEvent).values({c: bindparam(c) for c in _COLUMNS}))


async def insert_event(target: Target, params: dict[str, Any]) -> None:
    """One audit row (every column of `_COLUMNS`), in the caller's transaction."""
    await fetch(target, _INSERT, params)


@dataclass(frozen=True)
class Filters:
    target_type: str | None = None
    target_id: str | None = None
    actor_key_id: uuid.UUID | None = None
    action: str | None = None
    outcome: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None


def _about(target_id: str, target_type: str | None) -> ColumnElement[bool]:
    """Rows whose target is this id, and list reads that returned it."""
    direct = AuditEvent.target_id == target_id
    if target_type is not None:
        direct = and_(direct, AuditEvent.target_type == target_type)
    listed = AuditEvent.details["ids"].op("@>")(_json_array(target_id))
    return or_(direct, listed)


def _json_array(value: str) -> ColumnElement[Any]:
    return cast(literal(json.dumps([value])), JSONB)


async def page(
    session: AsyncSession,
    org_id: uuid.UUID,
    filters: Filters,
    *,
    limit: int,
    cursor: str | None = None,
) -> tuple[list[AuditEventOut], str | None]:
    """Newest first, keyset-paginated on (created_at, id)."""
    stmt = (
        select(AuditEvent, ApiKey.name, ApiKey.prefix)
        .outerjoin(ApiKey, ApiKey.id == AuditEvent.actor_key_id)
        .where(AuditEvent.organization_id == org_id)
    )
    if filters.target_id is not None:
        stmt = stmt.where(_about(filters.target_id, filters.target_type))
    elif filters.target_type is not None:
        stmt = stmt.where(AuditEvent.target_type == filters.target_type)
    if filters.actor_key_id is not None:
        stmt = stmt.where(AuditEvent.actor_key_id == filters.actor_key_id)
    if filters.action is not None:
        stmt = stmt.where(AuditEvent.action == filters.action)
    if filters.outcome is not None:
        stmt = stmt.where(AuditEvent.outcome == filters.outcome)
    if filters.since is not None:
        stmt = stmt.where(AuditEvent.created_at >= filters.since)
    if filters.until is not None:
        stmt = stmt.where(AuditEvent.created_at < filters.until)
    if cursor:
        at, ident = pagination.decode("audit-events", cursor, int)
        stmt = stmt.where(pagination.older(AuditEvent.created_at, AuditEvent.id, at, ident))
    stmt = stmt.order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc()).limit(limit + 1)
    rows = (await session.execute(stmt)).all()
    more, rows = len(rows) > limit, rows[:limit]
    out = [_out(row, name, prefix) for row, name, prefix in rows]
    if not more:
        return out, None
    last = rows[-1][0]
    return out, pagination.encode("audit-events", last.created_at, last.id)


def _out(row: AuditEvent, key_name: str | None, key_prefix: str | None) -> AuditEventOut:
    return AuditEventOut(
        id=row.id,
        at=row.created_at,
        action=row.action,
        outcome=row.outcome,
        status_code=row.status_code,
        problem_type=row.problem_type,
        target_type=row.target_type,
        target_id=row.target_id,
        actor_key_id=row.actor_key_id,
        actor_key_name=key_name,
        actor_key_prefix=key_prefix,
        client_ip=str(row.client_ip) if row.client_ip is not None else None,
        request_id=row.request_id,
        route=row.route,
        details=dict(row.details or {}),
    )


CSV_COLUMNS = [
    "id", "at", "action", "outcome", "status_code", "problem_type", "target_type", "target_id",
    "actor_key_id", "actor_key_name", "actor_key_prefix", "client_ip", "request_id", "route",
    "details",
]  # fmt: skip


def csv_rows(page: AuditEventList) -> list[dict[str, Any]]:
    rows = []
    for event in page.data:
        data = event.model_dump(mode="json")
        data["details"] = _details_cell(event.details)
        rows.append(data)
    return rows


def _details_cell(details: dict[str, Any]) -> str:
    return json.dumps(details, sort_keys=True, separators=(",", ":")) if details else ""
