"""Each organisation's read-mostly configuration, cached in the process, never stale.

Intake reads teams, members, the live rule set version, scoring settings and webhook
subscriptions on every lead, and they change a few times a day. Every write to those tables
bumps `organizations.config_version` in the writer's transaction (statement-level triggers,
migration 0009), from a sequence: a number is never handed out twice, so a rolled-back change
can't leave its number behind for different data. A transaction reads the version once
and an entry cached under another version is loaded again. The version is read before the
rows, so an entry is never older than its key.

Entries are plain immutable values, never ORM instances: they outlive the session.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy import bindparam, column, event, select, table
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, UOWTransaction

from app.direct import Direct, fetch
from app.lru import LRU

T = TypeVar("T")

# The tables migration 0009 puts triggers on.
CONFIG_TABLES = frozenset(
    {"teams", "members", "rulesets", "scoring_configs", "webhook_subscriptions"}
)

_ORGANIZATIONS = table("organizations", column("id"), column("config_version"))
_VERSION = Direct(
    select(_ORGANIZATIONS.c.config_version).where(_ORGANIZATIONS.c.id == bindparam("org"))
)


_INFO_KEY = "config_version"
_cache: LRU[tuple[uuid.UUID, str], tuple[int, Any]] = LRU(4096)


def _remember(session: AsyncSession, org_id: uuid.UUID, version: int | None) -> None:
    """Record the version this transaction read."""
    memo: dict[uuid.UUID, tuple[Any, int]] = session.info.setdefault(_INFO_KEY, {})
    memo[org_id] = (session.sync_session.get_transaction(), int(version or 0))


def forget(session: AsyncSession | Session) -> None:
    """This transaction changed configuration: read the (bumped) version again."""
    session.info.pop(_INFO_KEY, None)


async def version(session: AsyncSession, org_id: uuid.UUID) -> int:
    memo: dict[uuid.UUID, tuple[Any, int]] = session.info.setdefault(_INFO_KEY, {})
    hit = memo.get(org_id)
    txn = session.sync_session.get_transaction()
    if hit is not None and txn is not None and hit[0] is txn:
        return hit[1]
    rows = await fetch(session, _VERSION, {"org": org_id})
    found = rows[0][0] if rows else None
    # The query began a transaction if none was open; the memo lives as long as it does.
    _remember(session, org_id, found)
    return int(found or 0)


async def cached(
    session: AsyncSession, org_id: uuid.UUID, kind: str, load: Callable[[], Awaitable[T]]
) -> T:
    """The organisation's `kind` of configuration, loaded by `load` when the version moved."""
    current = await version(session, org_id)
    key = (org_id, kind)
    hit = _cache.get(key)
    if hit is not None and hit[0] == current:
        value: T = hit[1]
        return value
    value = await load()
    _cache.put(key, (current, value))
    return value


def clear() -> None:
    _cache.clear()


@event.listens_for(Session, "after_flush")
def _forget_after_config_write(session: Session, _: UOWTransaction) -> None:
    # Writes through Core statements call forget() themselves.
    for obj in itertools.chain(session.new, session.dirty, session.deleted):
        if getattr(obj, "__tablename__", None) in CONFIG_TABLES:
            forget(session)
            return
