"""Bulk inserts of one day's leads: row-by-row triggers against bulk mode, side by side.

    python bench/bench_bulk.py [--sizes 2000 8000] [--rounds 2]

Creates a fresh database (`demo_bulk_bench_*` on 127.0.0.1:5432 when it answers, else an
embedded PostgreSQL), migrates it, and times one INSERT ... SELECT of N leads received on
the same day, each with a member (so the member-load counters move too), in a transaction
that is rolled back: once with the triggers row by row, once in bulk mode
(app/leads/bulk.py), alternating, `--rounds` times per size. The time includes the deferred
rollup trigger (run with SET CONSTRAINTS ALL IMMEDIATE before the rollback, as a commit
would). It then checks that both modes leave the same lead_rollup and member_loads rows.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.ops import migrate
from bench.bench_reports import create_database, drop_database

ORG = uuid.UUID("00000000-0000-4000-8000-00000000b01c")
INSERT = """
    INSERT INTO leads (id, organization_id, received_at, last_submitted_at, status, is_test,
        channel, normalization_flags, attribution, resubmission_count, emergency, assessment,
        routing_trace, do_not_contact, escalation_count, updated_at, service_code, urgency,
        qualified, score, score_band, team_id, member_id, routed_at, first_attempt_at)
    SELECT gen_random_uuid(), $1, t, t, 'routed', false, 'api', '{}',
           jsonb_build_object('source', 'google', 'campaign', 'knee-' || (g % 3)), 0, false,
           '{}', '{}', '{}', 0, t, 'orthopedics', 'routine', g % 5 <> 0, 40 + g % 60,
           CASE WHEN g % 3 = 0 THEN 'hot' ELSE 'warm' END,
           ('00000000-0000-4000-8000-0000000002' || lpad((g % 4)::text, 2, '0'))::uuid,
           ('00000000-0000-4000-8000-0000000003' || lpad((g % 12)::text, 2, '0'))::uuid, t,
           t + make_interval(secs => 30 + g % 900)
    FROM (
        SELECT g, now() - interval '3 hours' + make_interval(secs => g % 7200) AS t
        FROM generate_series(1, $2) g
    ) s
"""
ROLLUP = """
    SELECT dim, key, leads, qualified, attempted, attempt_5m, attempt_hist
    FROM lead_rollup WHERE organization_id = $1 ORDER BY dim, key NULLS FIRST
"""
LOADS = "SELECT member_id, open_leads FROM member_loads WHERE organization_id = $1 ORDER BY 1"


async def one(dsn: str, n: int, bulk: bool) -> tuple[float, Any, Any]:
    conn = await asyncpg.connect(dsn)
    try:
        tx = conn.transaction()
        await tx.start()
        if bulk:
            await conn.execute("SELECT set_config('lead_router.bulk', 'on', true)")
        start = time.perf_counter()
        await conn.execute(INSERT, ORG, n)
        await conn.execute("SET CONSTRAINTS ALL IMMEDIATE")
        seconds = time.perf_counter() - start
        rollup = await conn.fetch(ROLLUP, ORG)
        loads = await conn.fetch(LOADS, ORG)
        await tx.rollback()
        return seconds, [tuple(r) for r in rollup], [tuple(r) for r in loads]
    finally:
        await conn.close()


async def main_async(args: argparse.Namespace) -> None:
    dsn, server, embedded = await create_database("demo_bulk_bench")
    try:
        await asyncio.to_thread(
            migrate.upgrade, dsn.replace("postgresql://", "postgresql+asyncpg://")
        )
        conn = await asyncpg.connect(dsn)
        await conn.execute(
            "INSERT INTO organizations (id, name, time_zone) "
            "VALUES ($1, 'Bulk', 'America/Chicago')",
            ORG,
        )
        await conn.close()
        print(f"database: {server}; one INSERT of N same-day leads, rolled back, seconds")
        print(f"{'leads':>6}  {'row by row':>22}  {'bulk mode':>22}  same result")
        for n in args.sizes:
            times: dict[bool, list[float]] = {False: [], True: []}
            results: dict[bool, Any] = {}
            for _ in range(args.rounds):
                for bulk in (False, True):
                    seconds, rollup, loads = await one(dsn, n, bulk)
                    times[bulk].append(seconds)
                    results[bulk] = (rollup, loads)
            # Same-time rows: the hist and counts must agree across modes.
            same = results[False] == results[True]
            row = " / ".join(f"{t:.2f}" for t in times[False])
            fast = " / ".join(f"{t:.2f}" for t in times[True])
            print(f"{n:>6}  {row:>22}  {fast:>22}  {same}")
            print(
                f"        medians {statistics.median(times[False]):.2f} s and "
                f"{statistics.median(times[True]):.2f} s"
            )
    finally:
        if embedded is not None:
            embedded.cleanup()
        else:
            await drop_database(dsn)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 8000])
    parser.add_argument("--rounds", type=int, default=2)
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
