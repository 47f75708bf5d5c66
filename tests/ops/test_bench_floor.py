"""The benchmark's floor table is created safely by server processes starting together."""

from __future__ import annotations

import asyncio

import asyncpg

from app.ops.bench import ensure_floor_table


async def test_concurrent_creation_of_the_floor_table(database_url: str) -> None:
    dsn = "postgresql" + database_url[database_url.index("://") :]
    conns = [await asyncpg.connect(dsn) for _ in range(4)]
    try:
        for _ in range(5):
            await conns[0].execute("DROP TABLE IF EXISTS bench_floor")
            await asyncio.gather(*(ensure_floor_table(c) for c in conns))
            assert await conns[0].fetchval("SELECT to_regclass('bench_floor') IS NOT NULL")
    finally:
        await conns[0].execute("DROP TABLE IF EXISTS bench_floor")
        for c in conns:
            await c.close()
