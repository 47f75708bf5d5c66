"""app.direct: hot statements sent past SQLAlchemy, inside the session's transaction."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    Table,
    bindparam,
    event,
    func,
    insert,
    literal,
    select,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine

from app.direct import Direct, autocommit, execute_many, fetch, transaction

PROBE = Table(
    "direct_probe",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("doc", JSONB),
    prefixes=["TEMPORARY"],
)
READ = Direct(
    select(PROBE.c.id, PROBE.c.doc, literal(7))
    .where(PROBE.c.id >= bindparam("low"))
    .order_by(PROBE.c.id)
)
WRITE = Direct(insert(PROBE).values(id=bindparam("id"), doc=bindparam("doc")))
ROWS = [{"id": 1, "doc": {"a": [1, 2]}}, {"id": 2, "doc": {"b": None}}]


def _sent_by_sqlalchemy(engine: AsyncEngine) -> list[str]:
    seen: list[str] = []
    event.listen(engine.sync_engine, "before_cursor_execute", lambda c, cur, s, *a: seen.append(s))
    return seen


@pytest.fixture
async def own(engine: AsyncEngine) -> AsyncIterator[AsyncEngine]:
    """An engine of its own, so a listener sees this test's statements only; one
    connection, so a temporary table stays visible from one transaction to the next."""
    fresh = create_async_engine(engine.url, pool_size=1, max_overflow=0)
    try:
        yield fresh
    finally:
        await fresh.dispose()


async def test_statements_run_direct_once_the_transaction_has_begun(own: AsyncEngine) -> None:
    seen = _sent_by_sqlalchemy(own)
    async with AsyncSession(own) as s:
        # Before BEGIN has reached the server, a statement sent past SQLAlchemy would
        # run outside the transaction: the first goes through the session.
        assert await fetch(s, Direct(select(literal(1))), {}) == [(1,)]
        assert len(seen) == 1
        await s.run_sync(lambda sync: PROBE.create(sync.connection()))
        await execute_many(s, WRITE, ROWS)
        rows = await fetch(s, READ, {"low": 1})
        # The session sees the rows the direct path wrote: the same transaction.
        via_session = (await s.execute(READ.stmt, {"low": 1})).all()
        await s.rollback()
    assert [tuple(r) for r in rows] == [tuple(r) for r in via_session]
    assert [tuple(r) for r in rows] == [(1, {"a": [1, 2]}, 7), (2, {"b": None}, 7)]
    # BEGIN's statement, the CREATE and the comparison read; nothing else went through.
    assert len(seen) == 3, seen


async def test_a_refused_statement_is_raised_as_sqlalchemy_raises_it(engine: AsyncEngine) -> None:
    async with AsyncSession(engine) as s:
        await s.run_sync(lambda sync: PROBE.create(sync.connection()))
        await execute_many(s, WRITE, ROWS[:1])
        with pytest.raises(DBAPIError) as caught:
            await execute_many(s, WRITE, ROWS[:1])
        await s.rollback()
    assert isinstance(caught.value.orig, asyncpg.UniqueViolationError)
    assert not caught.value.connection_invalidated


async def test_a_lost_connection_is_invalidated_not_pooled_again(
    engine: AsyncEngine, own: AsyncEngine
) -> None:
    async with AsyncSession(own) as s:
        # The first statement begins the transaction through SQLAlchemy.
        ((me,),) = await fetch(s, Direct(select(func.pg_backend_pid())), {})
        async with engine.connect() as other:
            await other.execute(select(func.pg_terminate_backend(me)))
        with pytest.raises(DBAPIError) as caught:
            await fetch(s, Direct(select(literal(1))), {})
        assert caught.value.connection_invalidated
    # The pool's one connection was replaced: the next session works.
    async with AsyncSession(own) as s:
        assert (await s.execute(select(literal(1)))).scalar_one() == 1


def test_arguments_follow_the_compiled_order_and_types() -> None:
    args: list[Any] = WRITE.args({"doc": {"x": 1}, "id": 5})
    assert WRITE.names == ("id", "doc")
    # JSONB travels as text, as SQLAlchemy's asyncpg codec expects it.
    assert args[0] == 5 and isinstance(args[1], str)
    with pytest.raises(KeyError):
        WRITE.args({"id": 5})


async def test_a_transaction_on_the_driver_alone_commits_or_rolls_back(
    own: AsyncEngine,
) -> None:
    async with transaction(own) as c:
        await c.execute("CREATE TEMPORARY TABLE direct_probe (id int PRIMARY KEY, doc jsonb)")
        await fetch(c, WRITE, ROWS[0])
    with pytest.raises(RuntimeError):
        async with transaction(own) as c:
            await fetch(c, WRITE, ROWS[1])
            raise RuntimeError("the caller failed after writing")
    with pytest.raises(DBAPIError) as refused:
        async with transaction(own) as c:
            await fetch(c, WRITE, ROWS[0])
    assert isinstance(refused.value.orig, asyncpg.UniqueViolationError)
    async with transaction(own) as c:
        assert [tuple(r) for r in await fetch(c, READ, {"low": 0})] == [(1, {"a": [1, 2]}, 7)]


async def test_a_connection_lost_in_a_driver_transaction_is_not_pooled_again(
    engine: AsyncEngine,
    own: AsyncEngine,
) -> None:
    with pytest.raises(DBAPIError) as lost:
        async with transaction(own) as c:
            ((me,),) = await fetch(c, Direct(select(func.pg_backend_pid())), {})
            async with engine.connect() as other:
                await other.execute(select(func.pg_terminate_backend(me)))
            await fetch(c, Direct(select(literal(1))), {})
    assert lost.value.connection_invalidated
    async with transaction(own) as c:
        assert [tuple(r) for r in await fetch(c, Direct(select(literal(1))), {})] == [(1,)]


async def test_an_error_of_the_callers_own_passes_as_it_is_and_keeps_the_connection(
    own: AsyncEngine,
) -> None:
    # A worker's job runs an HTTP request inside the transaction: the client's OSError says
    # nothing of the database connection, which must not be dropped for it.
    pid = Direct(select(func.pg_backend_pid()))
    with pytest.raises(ConnectionResetError):
        async with transaction(own) as c:
            ((before,),) = await fetch(c, pid, {})
            raise ConnectionResetError("the receiver hung up")
    async with transaction(own) as c:
        ((after,),) = await fetch(c, pid, {})
    assert after == before


async def test_autocommit_commits_each_statement_and_drops_a_lost_connection(
    engine: AsyncEngine,
    own: AsyncEngine,
) -> None:
    xid = Direct(select(func.txid_current()))
    pid = Direct(select(func.pg_backend_pid()))
    async with transaction(own) as c:
        assert len({tuple(r) for _ in range(2) for r in await fetch(c, xid, {})}) == 1
    async with autocommit(own) as c:
        # No BEGIN was sent: each statement is a transaction of its own.
        assert len({tuple(r) for _ in range(2) for r in await fetch(c, xid, {})}) == 2
        ((me,),) = await fetch(c, pid, {})
    with pytest.raises(DBAPIError) as lost:
        async with autocommit(own) as c:
            async with engine.connect() as other:
                await other.execute(select(func.pg_terminate_backend(me)))
            await fetch(c, pid, {})
    assert lost.value.connection_invalidated
    async with autocommit(own) as c:
        ((again,),) = await fetch(c, pid, {})
    assert again != me
