"""Hot statements sent straight through asyncpg, on the session's own connection.

SQLAlchemy's execution of one statement (session, compiled cache, result, ORM state) costs
0.3 to 0.5 ms of CPU; asyncpg's alone about 0.06 ms. py-spy put SQLAlchemy at 41 % of an intake
process's busy time, for sixteen or so statements a lead. So the statements intake sends on
every lead are built once as Core statements with bound parameters, compiled once for
asyncpg here, and run on the asyncpg connection under the session, inside its transaction.

The Core statement stays the one definition: where the raw path cannot be used, the session
runs the same statement. That is when the connection's transaction has not begun yet
(SQLAlchemy's asyncpg adapter sends BEGIN with the first statement, and a statement sent
before it would run outside the transaction), and in a session bound to one connection.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from functools import cache
from typing import Any, cast

import asyncpg
from sqlalchemy import Executable, bindparam
from sqlalchemy.dialects.postgresql import Insert, insert
from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession
from sqlalchemy.orm import Mapper, class_mapper
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

from app.db import Base

_DIALECT = PGDialect_asyncpg()  # type: ignore[no-untyped-call]


class Direct:
    """A Core statement compiled once for asyncpg: its SQL and how to order its arguments."""

    def __init__(self, stmt: ClauseElement) -> None:
        assert isinstance(stmt, Executable)
        compiled = stmt.compile(dialect=_DIALECT)
        assert isinstance(compiled, SQLCompiler)
        self.stmt: Executable = stmt
        self.sql = compiled.string
        self.names = tuple(compiled.positiontup or ())
        # Literals (literal(0)) travel as parameters too; their values are compiled in.
        self.fixed = {n: v for n, v in compiled.params.items() if v is not None}
        self._order = [
            (n, compiled.binds[n].type.dialect_impl(_DIALECT).bind_processor(_DIALECT))
            for n in self.names
        ]

    def args(self, params: Mapping[str, Any]) -> list[Any]:
        out = []
        for name, process in self._order:
            value = params[name] if name in params else self.fixed[name]
            out.append(process(value) if process is not None and value is not None else value)
        return out


async def _driver(session: AsyncSession) -> tuple[AsyncConnection, asyncpg.Connection | None]:
    """The session's connection and, if its transaction has begun there, its asyncpg one;
    the session's pending changes flushed first (as `session.execute` would)."""
    if session.autoflush and (session.new or session.deleted or session.dirty):
        await session.flush()
    conn = await session.connection()
    sync = conn.sync_connection
    fairy = sync.connection if sync is not None and not conn.invalidated else None
    # A private attribute of SQLAlchemy's adapter: if it ever changes, every statement
    # takes the session path, which is slower but never wrong.
    if fairy is None or getattr(fairy.dbapi_connection, "_transaction", None) is None:
        return conn, None
    driver = fairy.driver_connection
    assert isinstance(driver, asyncpg.Connection)
    return conn, driver


# A session, or an asyncpg connection inside `transaction()`.
Target = AsyncSession | asyncpg.Connection


@asynccontextmanager
async def _pooled(engine: AsyncEngine) -> AsyncIterator[tuple[AsyncConnection, asyncpg.Connection]]:
    """One of `engine`'s connections and its asyncpg one; lost, it is not pooled again."""
    async with engine.connect() as conn:
        driver = (await conn.get_raw_connection()).driver_connection
        assert isinstance(driver, asyncpg.Connection)
        try:
            yield conn, driver
        except DBAPIError as exc:
            # Raised by fetch, which has no SQLAlchemy connection to invalidate.
            if exc.connection_invalidated and not conn.invalidated:
                await conn.invalidate(exc)
            raise


@asynccontextmanager
async def transaction(engine: AsyncEngine) -> AsyncIterator[asyncpg.Connection]:
    """A short transaction on one of `engine`'s connections, driven by asyncpg alone: no
    session, and BEGIN and COMMIT cost a round trip each and nothing more."""
    async with _pooled(engine) as (conn, driver):
        tx = driver.transaction()
        try:
            await tx.start()
        except _DRIVER_ERRORS as exc:
            raise await _as_sqlalchemy(conn, driver, "BEGIN", exc) from exc
        try:
            yield driver
        except BaseException:
            # The body's own errors pass as they are (a job's may be an HTTP client's
            # OSError, which says nothing of this connection); statements sent through
            # `fetch` were already turned into SQLAlchemy's errors.
            try:
                await tx.rollback()
            except _DRIVER_ERRORS as lost:
                await conn.invalidate(lost)
            raise
        try:
            await tx.commit()
        except _DRIVER_ERRORS as exc:
            raise await _as_sqlalchemy(conn, driver, "COMMIT", exc) from exc


@asynccontextmanager
async def autocommit(engine: AsyncEngine) -> AsyncIterator[asyncpg.Connection]:
    """One of `engine`'s connections outside any transaction: each statement commits on its
    own. For a lone statement, this saves the BEGIN and COMMIT round trips of `transaction`."""
    async with _pooled(engine) as (_, driver):
        yield driver


async def _resolve(target: Target) -> tuple[AsyncConnection | None, asyncpg.Connection | None]:
    if isinstance(target, AsyncSession):
        return await _driver(target)
    return None, target


async def fetch(target: Target, stmt: Direct, params: Mapping[str, Any]) -> Sequence[Sequence[Any]]:
    """The statement's rows, run on the session's connection (or the given one)."""
    conn, driver = await _resolve(target)
    if driver is None:
        assert isinstance(target, AsyncSession)
        return (await target.execute(stmt.stmt, dict(params))).all()
    args = stmt.args(params)
    try:
        return cast(Sequence[Sequence[Any]], await driver.fetch(stmt.sql, *args))
    except _DRIVER_ERRORS as exc:
        raise await _as_sqlalchemy(conn, driver, stmt.sql, exc) from exc


async def execute_many(target: Target, stmt: Direct, rows: Sequence[Mapping[str, Any]]) -> None:
    """The statement once per row, in one round trip (asyncpg pipelines them)."""
    if not rows:
        return
    conn, driver = await _resolve(target)
    if driver is None:
        assert isinstance(target, AsyncSession)
        await target.execute(stmt.stmt, [dict(r) for r in rows])
        return
    args = [stmt.args(r) for r in rows]
    try:
        await driver.executemany(stmt.sql, args)
    except _DRIVER_ERRORS as exc:
        raise await _as_sqlalchemy(conn, driver, stmt.sql, exc) from exc


_DRIVER_ERRORS = (asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.InternalClientError,
                  OSError)  # fmt: skip


async def _as_sqlalchemy(
    conn: AsyncConnection | None, driver: asyncpg.Connection, sql: str, exc: Exception
) -> DBAPIError:
    """The error as SQLAlchemy would raise it: the error handlers answer 503 for a lost
    connection, and the pool must not hand that connection out again."""
    # Class 08 and 57P: the server ended the session. A dropped socket shows as a closed
    # connection, or (over a Unix socket) as asyncpg's InternalClientError.
    sqlstate = str(getattr(exc, "sqlstate", ""))
    lost = driver.is_closed() or sqlstate.startswith(("08", "57P"))
    lost = lost or isinstance(exc, (asyncpg.InternalClientError, OSError))
    if lost and conn is not None:
        await conn.invalidate(exc)
    return DBAPIError(sql, None, exc, connection_invalidated=lost)


# --- rows written past the ORM ---------------------------------------------------------------


@cache
def row_columns(model: type[Base]) -> list[tuple[str, Any]]:
    """(attribute, column) of every mapped column of `model`: read from the mapper once,
    not for every row written."""
    mapper: Mapper[Any] = class_mapper(model)
    return [(prop.key, prop.columns[0]) for prop in mapper.column_attrs]


def row_values(obj: Base, prefix: str) -> dict[str, Any]:
    """The row's parameters, with the column defaults the ORM would have applied. Each is
    set on the object too: it then holds what the row holds, and an attribute never set is
    not taken for an expired one once the object is attached."""
    out: dict[str, Any] = {}
    for key, column in row_columns(type(obj)):
        value = getattr(obj, key)
        if value is None and column.default is not None:
            value = column.default.arg(None) if column.default.is_callable else column.default.arg
        setattr(obj, key, value)
        out[prefix + key] = value
    return out


def insert_row(model: type[Base], prefix: str) -> Insert:
    """An INSERT of every column of `model`, bound to `row_values(obj, prefix)`."""
    columns = row_columns(model)
    # Every column is sent, so a default only the server knows would be overwritten by NULL.
    server_only = [
        key for key, col in columns if col.server_default is not None and col.default is None
    ]
    assert not server_only, f"{model.__name__}: give {server_only} a Python default too"
    values = {key: bindparam(prefix + key, type_=col.type) for key, col in columns}
    return insert(model).values(values)
