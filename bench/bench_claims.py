"""What a worker's job claim costs when it finds nothing, as most do (every NOTIFY wakes the
worker of every process): in a transaction of its own, or as a lone autocommit statement.

    python bench/bench_claims.py [--claims 3000] [--rounds 3]

Fresh database (the local server on 127.0.0.1:5432 when it answers, else embedded), the
schema by migration, one pooled connection; alternates the two ways round by round and
prints the CPU per claim of this process and of its PostgreSQL backend (from /proc).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy.ext.asyncio import create_async_engine

from app import direct
from app.jobs import service as jobs
from app.ops import migrate
from bench.bench_intake import database, drop_database


def _cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def run(url: str, claims: int, rounds: int) -> None:
    await asyncio.to_thread(migrate.upgrade, url)
    engine = create_async_engine(url, pool_size=1, max_overflow=0)
    async with engine.connect() as conn:
        backend = (await conn.get_raw_connection()).driver_connection.get_server_pid()
    ways = {"transaction": direct.transaction, "autocommit": direct.autocommit}
    try:
        for _ in range(rounds):
            for name, way in ways.items():
                mine, theirs = time.process_time(), _cpu_seconds(backend)
                for _ in range(claims):
                    async with way(engine) as conn:
                        await jobs.claim(conn, 20)
                mine, theirs = time.process_time() - mine, _cpu_seconds(backend) - theirs
                print(
                    f"{name:12} CPU per empty claim: this process {mine / claims * 1e6:6.0f} µs, "
                    f"PostgreSQL {theirs / claims * 1e6:5.0f} µs"
                )
    finally:
        await engine.dispose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--claims", type=int, default=3000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--database-url")
    args = ap.parse_args()
    url, embedded = database(args)
    try:
        asyncio.run(run(url, args.claims, args.rounds))
    finally:
        if embedded is not None:
            embedded.cleanup()
        elif not args.database_url:
            asyncio.run(drop_database(url))


if __name__ == "__main__":
    main()
