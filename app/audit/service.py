"""Audit events, written inside the caller's transaction so they share its fate."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import bindparam, insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.models import AuditEvent
from app.auth.service import Caller
from app.db import utcnow
from app.direct import Direct, Target, fetch

_COLUMNS = ("organization_id", "actor_key_id", "action", "target_type", "target_id",
            "request_id", "client_ip", "details", "created_at")  # fmt: skip
_RECORD = Direct(insert(AuditEvent).values({c: bindparam(c) for c in _COLUMNS}))


async def record(
    target: Target,
    caller: Caller | None,
    action: str,
    target_type: str | None = None,
    target_id: uuid.UUID | str | None = None,
    details: dict[str, Any] | None = None,
    *,
    org_id: uuid.UUID | None = None,
) -> None:
    """`details` must hold identifiers and codes only, never personal data."""
    params = {
        "organization_id": caller.org_id if caller else org_id,
        "actor_key_id": caller.key_id if caller else None,
        "action": action,
        "target_type": target_type,
        "target_id": str(target_id) if target_id is not None else None,
        "request_id": caller.request_id if caller else None,
        "client_ip": caller.client_ip if caller else None,
        "details": details or {},
        "created_at": utcnow(),
    }
    await fetch(target, _RECORD, params)


async def record_many(
    session: AsyncSession, caller: Caller, action: str, target_type: str, ids: list[uuid.UUID]
) -> None:
    if not ids:
        return
    await session.execute(
        insert(AuditEvent),
        [
            {
                "organization_id": caller.org_id,
                "actor_key_id": caller.key_id,
                "action": action,
                "target_type": target_type,
                "target_id": str(i),
                "request_id": caller.request_id,
                "client_ip": caller.client_ip,
                "details": {},
            }
            for i in ids
        ],
    )
