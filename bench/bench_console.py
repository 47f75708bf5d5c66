"""Console page latency and size on an organisation with 1,000,000 leads.

Beside bench_reports.py and on its data: seeds the same year of leads (bench/seed_reports.py)
in a fresh database, or times an already seeded one (`--reuse DSN`, e.g. one kept with
`bench_reports.py --keep`). Signs in with a key of that organisation and times each page
through the ASGI app in this process (routing, session check, service calls, SQL, template):
the server's time, without a network or a browser. Median of several runs, first discarded.

Run: `python bench/bench_console.py [--reuse DSN] [--runs 7] [--keep]`.
Writes bench/results/console.json.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import html
import json
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from app.auth import service as auth_service
from app.config import Settings
from app.db import db
from app.main import create_app
from app.ops import migrate
from bench.bench_reports import create_database, drop_database, machine, reference
from bench.seed_reports import ORG, seed

RESULTS = Path(__file__).parent / "results" / "console.json"
LAST_DAY = dt.date(2025, 12, 31)


def pages(lead_id: str) -> list[tuple[str, str]]:
    def period(days: int, group_by: str = "source") -> str:
        first = LAST_DAY - dt.timedelta(days=days - 1)
        return f"from={first}&to={LAST_DAY}&group_by={group_by}"

    return [
        ("review, last 28 days by source", f"/console?{period(28)}"),
        ("review, last 90 days by source", f"/console?{period(90)}"),
        ("review, last 28 days by week", f"/console?{period(28, 'week')}"),
        ("review section: weekly trend, 28 days", f"/console/review/trend?{period(28)}"),
        ("review section: weekly trend, 90 days", f"/console/review/trend?{period(90)}"),
        ("review section: speed to lead, 28 days", f"/console/review/speed?{period(28)}"),
        ("review section: drop-off, 28 days", f"/console/review/drop-off?{period(28)}"),
        ("review section: calibration, 28 days", f"/console/review/calibration?{period(28)}"),
        ("review section: score factors, 28 days", f"/console/review/factors?{period(28)}"),
        ("review section: speed to lead, 7 days", f"/console/review/speed?{period(7)}"),
        ("review section: calibration, 7 days", f"/console/review/calibration?{period(7)}"),
        ("queue, first page", "/console/queue"),
        ("queue, every routed lead, page 20", "/console/queue?status=all&pages=20"),
        ("lead page", f"/console/leads/{lead_id}"),
        ("practice", "/console/practice"),
    ]


async def deep_page(client: httpx.AsyncClient, path: str) -> str:
    """The address of page N of a queue view, reached as a person does: by its Next links."""
    path, _, n = path.partition("&pages=")
    for _ in range(int(n) - 1):
        page = await client.get(path)
        found = re.search(r'<a href="([^"]+)" rel="next">', page.text)
        assert found, (path, page.status_code)
        path = html.unescape(found.group(1))
    return path


async def run(url: str, runs: int) -> list[dict[str, Any]]:
    engine = create_async_engine(url)
    async with AsyncSession(engine, expire_on_commit=False) as s:
        _, token = await auth_service.create_key(s, ORG, "bench console", ["admin"])
        lead_id = str(
            await s.scalar(
                text(
                    "SELECT id FROM leads WHERE organization_id = :o"
                    " ORDER BY received_at DESC LIMIT 1"
                ),
                {"o": ORG},
            )
        )
        # The seed leaves every lead `new` without consent; a working queue holds the leads
        # of the last two days, routed, callable and not yet claimed (about 5,500).
        await s.execute(
            text(
                "UPDATE leads SET status = 'routed', contact_channels = '{voice,sms}'"
                " WHERE organization_id = :o"
                " AND team_id IS NOT NULL AND claimed_at IS NULL"
                " AND received_at >= CAST(:day AS date) - 1"
            ),
            {"o": ORG, "day": LAST_DAY},
        )
        await s.commit()
    await engine.dispose()
    settings = Settings(database_url=url, environment="test", run_worker_in_process=False,
                        rate_limit_per_minute=0, log_level="WARNING")  # fmt: skip
    app = create_app(settings, manage_database=False)
    db.connect(settings)
    transport = httpx.ASGITransport(app=app)
    out = []
    async with httpx.AsyncClient(transport=transport, base_url="https://bench") as client:
        form = await client.get("/console/login")
        nonce = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert nonce
        signed = await client.post(
            "/console/login", data={"api_key": token, "csrf_token": nonce.group(1)}
        )
        assert signed.status_code == 303, signed.text
        for name, path in pages(lead_id):
            if "&pages=" in path:
                path = await deep_page(client, path)
            samples, size = [], 0
            for i in range(runs + 1):
                start = time.perf_counter()
                answer = await client.get(path)
                elapsed = (time.perf_counter() - start) * 1000
                assert answer.status_code == 200, (path, answer.status_code, answer.text[:300])
                size = len(answer.content)
                if i:
                    samples.append(elapsed)
            row = {
                "page": name,
                "path": path.split("?")[0],
                "median_ms": round(statistics.median(samples), 1),
                "min_ms": round(min(samples), 1),
                "max_ms": round(max(samples), 1),
                "html_kb": round(size / 1024, 1),
            }
            print(f"  {name:44} {row['median_ms']:8.1f} ms  ({row['min_ms']}-{row['max_ms']})"
                  f"  {row['html_kb']:6.1f} kB")  # fmt: skip
            out.append(row)
    await db.dispose_engines()
    return out


async def main_async(args: argparse.Namespace) -> None:
    if args.reuse:
        dsn, server, embedded, keep = args.reuse, "reused", None, True
    else:
        dsn, server, embedded = await create_database("console_bench")
        keep = args.keep
    url = "postgresql+asyncpg" + dsn[len("postgresql") :]
    print(f"database: {server} {dsn.rsplit('/', 1)[1]}")
    try:
        seeding: dict[str, float] = {}
        if not args.reuse:
            await asyncio.to_thread(migrate.upgrade, url)
            seeding = await seed(dsn, args.leads)
        else:
            await asyncio.to_thread(migrate.upgrade, url)
        before = await reference(dsn)
        timings = await run(url, args.runs)
        after = await reference(dsn)
        result = {
            "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "machine": machine(),
            "database": server,
            "leads": args.leads,
            "runs_per_page": args.runs,
            "seeding": seeding,
            "pages": timings,
            "machine_speed": {"before": before, "after": after},
        }
        RESULTS.parent.mkdir(exist_ok=True)
        RESULTS.write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {RESULTS}")
    finally:
        if embedded is not None:
            embedded.cleanup()
        elif not keep:
            await drop_database(dsn)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep the database")
    parser.add_argument("--reuse", metavar="DSN", help="time an already seeded database")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
