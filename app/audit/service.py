"""Audit events, written inside the caller's transaction so they share its fate; and the
request's own row (app.auth.trail), which a failed request writes after its rollback."""

from __future__ import annotations

import contextlib
import uuid
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import queries
from app.auth import service as auth_service
from app.auth.service import Caller
from app.auth.trail import ALLOWED, RequestTrail, failure
from app.db import utcnow
from app.direct import Target

log = structlog.get_logger("app.audit")


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
    """`details` must hold identifiers and codes only, never personal data.

    Written in the caller's transaction: it stands only if what it records does. Within an
    API request it is the request's row (outcome `allowed`; app.auth.trail)."""
    trail = caller.trail if caller else None
    if trail is not None:
        trail.written += 1
    await queries.insert_event(
        target,
        _params(caller, action, target_type, target_id, details, org_id=org_id, trail=trail),
    )


def _params(
    caller: Caller | None,
    action: str,
    target_type: str | None,
    target_id: uuid.UUID | str | None,
    details: dict[str, Any] | None,
    *,
    org_id: uuid.UUID | None = None,
    trail: RequestTrail | None = None,
    outcome: str = ALLOWED,
    status_code: int | None = None,
    problem_type: str | None = None,
) -> dict[str, Any]:
    return {
        "organization_id": caller.org_id if caller else org_id,
        "actor_key_id": caller.key_id if caller else None,
        "action": action,
        "target_type": target_type,
        "target_id": str(target_id) if target_id is not None else None,
        "request_id": caller.request_id if caller else None,
        "client_ip": caller.client_ip if caller else None,
        "details": details or {},
        "created_at": utcnow(),
        "outcome": outcome,
        "status_code": status_code,
        "problem_type": problem_type,
        "route": trail.label if trail is not None else None,
    }


def note(caller: Caller, target: tuple[str, uuid.UUID | str] | None = None, **details: Any) -> None:
    """Add to the request's own row: a target not in its path, the ids a list returned."""
    if caller.trail is not None:
        caller.trail.note(target, **details)


async def finish_request(session: AsyncSession, caller: Caller) -> None:
    """A request that succeeded: its row, unless its services wrote theirs."""
    trail = caller.trail
    if trail is None or trail.written or not trail.audited():
        return
    kind, ident = trail.target_of()
    await queries.insert_event(session, _params(caller, trail.action, kind, ident, trail.details,
                                          trail=trail, status_code=None))  # fmt: skip


async def record_failure(session: AsyncSession, caller: Caller, exc: BaseException) -> None:
    """A request that failed: roll its transaction back, then write its row (and the key's
    `last_used_at`) in a transaction of their own, committed before the error is answered.
    A failure here is logged, never allowed to replace the request's own error."""
    trail = caller.trail
    try:
        await session.rollback()
        if caller.key_id is not None:
            await auth_service.touch(session, caller.key_id)
        if trail is not None and trail.audited():
            outcome, status, type_ = failure(exc)
            kind, ident = trail.target_of(exc)
            details = {**trail.details}
            extra = getattr(exc, "extra", None) or {}
            for name in ("rule", "rules_version", "missing_evidence"):
                if extra.get(name):
                    details[name] = extra[name]
            params = _params(caller, trail.action, kind, ident, details, trail=trail,
                             outcome=outcome, status_code=status, problem_type=type_)  # fmt: skip
            await queries.insert_event(session, params)
        await session.commit()
    except Exception as error:
        log.error("audit_failure_not_recorded", error_type=type(error).__name__)
        with contextlib.suppress(Exception):
            await session.rollback()
