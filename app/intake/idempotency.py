"""`Idempotency-Key` for POSTs that create things (draft-ietf-httpapi-idempotency-key-header).

Same key and body → the stored response; same key, other body → 422; the first request
still in flight → 409. Keys are scoped to the API key and kept 24 hours.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.service import Caller
from app.db import utcnow
from app.errors import Conflict, Unprocessable
from app.intake.models import IdempotencyKey

TTL = dt.timedelta(hours=24)
MAX_LEN = 255


def request_hash(method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + body).hexdigest()


async def lookup(
    session: AsyncSession, caller: Caller, key: str, digest: str
) -> tuple[int, dict[str, Any]] | None:
    """The stored answer for this key, or None to go ahead (holding the key until commit)."""
    if not key or len(key) > MAX_LEN:
        raise Unprocessable(f"`Idempotency-Key` must be 1 to {MAX_LEN} characters.")
    # The lock is held to the end of the transaction, which is committed before the
    # response is sent: a second request that can't take it is racing the first.
    got = await session.execute(
        text("SELECT pg_try_advisory_xact_lock(hashtextextended(:k, 0))"),
        {"k": f"idempotency:{caller.key_id}:{key}"},
    )
    if not got.scalar_one():
        raise Conflict(
            "A request with this Idempotency-Key is still being processed.",
            type="idempotency-key-in-flight",
        )
    row = (
        await session.execute(
            select(IdempotencyKey).where(
                IdempotencyKey.api_key_id == caller.key_id,
                IdempotencyKey.key == key,
                IdempotencyKey.expires_at > utcnow(),
            )
        )
    ).scalar_one_or_none()
    if row is None:
        return None
    if row.request_hash != digest:
        raise Unprocessable(
            "This Idempotency-Key was used with a different request body.",
            type="idempotency-key-reused",
        )
    return row.response_status, row.response_body


async def store(
    session: AsyncSession, caller: Caller, key: str, digest: str, status: int, body: dict[str, Any]
) -> None:
    now = utcnow()
    stmt = insert(IdempotencyKey).values(
        organization_id=caller.org_id,
        api_key_id=caller.key_id,
        key=key,
        request_hash=digest,
        response_status=status,
        response_body=body,
        created_at=now,
        expires_at=now + TTL,
    )
    # An expired row with the same key is replaced.
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=["api_key_id", "key"],
            set_={
                "request_hash": digest,
                "response_status": status,
                "response_body": body,
                "created_at": now,
                "expires_at": now + TTL,
            },
        )
    )
