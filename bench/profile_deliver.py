"""Where a webhook delivery spends its time: the worker's side of the handoff, alone.

Seeds the demo practice (as `profile_intake.py` does), subscribes a receiver on 127.0.0.1 to
`lead.received` and `lead.routed`, sends `--leads` canonical leads in-process with no worker
running, then runs the worker's batches (`app.worker.run_once`) until the queue is empty,
measuring CPU per delivered job in this process and in its PostgreSQL backends, and the
statements each job sends. With `--profile`, pyinstrument records the worker's part.

Run: `python bench/profile_deliver.py [--leads 200] [--profile] [--statements]`.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
# The receiver is on loopback; the delivery code reads its settings from the environment.
os.environ["LEAD_ROUTER_ALLOW_PRIVATE_WEBHOOK_TARGETS"] = "true"

import httpx
from sqlalchemy import Engine, event, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import demo, worker
from app.config import Settings
from app.db import db, make_engine
from app.handoff import delivery
from app.main import create_app
from app.ops import migrate
from bench import profile_intake as p
from bench.bench_handoff import Receiver
from bench.bench_intake import people


async def main(args: argparse.Namespace) -> None:
    url, server = p._database()
    settings = Settings(  # type: ignore[call-arg]
        environment="test", log_level="WARNING", rate_limit_per_minute=0,
        webhook_rate_limit_per_minute=0, database_url=url,
    )  # fmt: skip
    await asyncio.to_thread(migrate.upgrade, url)
    app = create_app(settings, manage_database=False)
    db.engine = make_engine(url, settings)
    db.sessionmaker = async_sessionmaker(db.engine, expire_on_commit=False, class_=AsyncSession)
    event.listen(Engine, "before_cursor_execute", p._note_sent)
    event.listen(Engine, "after_cursor_execute", p._note_done)
    async with db.sessionmaker() as session:
        info = await demo.seed(session)
        await session.execute(text("UPDATE teams SET hours = NULL, capacity_per_member = NULL"))
        await session.commit()
    secret: dict[str, str] = {}
    receiver = Receiver(secret)
    listening = await asyncio.start_server(receiver.handle, "127.0.0.1", 0)
    rport = listening.sockets[0].getsockname()[1]
    auth = {"Authorization": f"Bearer {info.admin_key}"}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://x", headers=auth) as c:
        sub = await c.post(
            "/v1/webhook-subscriptions",
            json={"url": f"http://127.0.0.1:{rport}/h", "event_types": ["lead.received",
                                                                          "lead.routed"]},
        )  # fmt: skip
        secret["value"] = sub.json()["secret"]
        for body in people(args.leads + 10, 11):
            (await c.post("/v1/leads", json=body)).raise_for_status()
    # Warm the worker's code paths and connections on the first few leads' jobs.
    await worker.run_once(db.sessionmaker, limit=20)
    backends = await p._backends()
    p.statements.clear()
    p.took.clear()
    before = (time.process_time(), p._cpu_seconds(backends))
    profiler = None
    if args.profile:
        from pyinstrument import Profiler

        profiler = Profiler(async_mode="enabled", interval=0.0005)
        profiler.start()
    jobs = 0
    while ran := await worker.run_once(db.sessionmaker):
        jobs += ran
    after = (time.process_time(), p._cpu_seconds(backends))
    if profiler is not None:
        profiler.stop()
        print(profiler.output_text(unicode=True, color=False, show_all=False))
    await delivery.close_clients()
    listening.close()
    assert before[1] is not None and after[1] is not None
    print(
        f"{jobs} deliveries ({len(receiver.arrivals)} leads arrived, "
        f"{receiver.bad_signatures} bad signatures): CPU per delivery "
        f"{(after[0] - before[0]) / jobs * 1000:.2f} ms in this process, "
        f"{(after[1] - before[1]) / jobs * 1000:.2f} ms in its PostgreSQL backends; "
        f"{len(p.statements) / jobs:.1f} statements per delivery"
    )
    if args.statements:
        kinds: collections.Counter[str] = collections.Counter()
        kind_ms: dict[str, list[float]] = collections.defaultdict(list)
        p.tally(p.statements[: len(p.took)], p.took, kinds, kind_ms)
        p.print_statements(kinds, kind_ms, jobs, "delivery")
    await db.dispose_engines()
    if server is not None:
        server.cleanup()


if __name__ == "__main__":
    asyncio.run(main(p.arguments().parse_args()))
