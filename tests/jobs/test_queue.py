"""The PostgreSQL job queue, on real commits and separate connections."""

from __future__ import annotations

import asyncio
import time
import uuid

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app import direct, worker
from app.db import db, utcnow
from app.jobs import queries
from app.jobs import service as jobs
from app.jobs.models import Job
from tests.conftest import make_settings

# A poll interval no test lasts, and how long a test waits for what NOTIFY brings before it
# fails (well inside that interval; a bound on the wait, not a measured time).
POLL_NEVER, LIVENESS = 3600.0, 30.0

ran: list[str] = []


@jobs.registry.register("test.record", max_attempts=3)
async def _record(session: AsyncSession, job: Job) -> None:
    ran.append(job.payload["tag"])


@jobs.registry.register("test.fail", schedule=(0.01,), max_attempts=2)
async def _fail(session: AsyncSession, job: Job) -> None:
    raise jobs.RetryLater("peer answered 503")


async def _enqueue(engine: AsyncEngine, kind: str, tags: list[str]) -> None:
    async with AsyncSession(engine) as s, s.begin():
        for tag in tags:
            await jobs.enqueue(s, kind, {"tag": tag})


async def test_concurrent_claimers_never_take_the_same_job(engine: AsyncEngine) -> None:
    tag = uuid.uuid4().hex
    await _enqueue(engine, "test.claim", [f"{tag}-{i}" for i in range(60)])
    maker = async_sessionmaker(engine, expire_on_commit=False)

    async def claimer() -> list[str]:
        got: list[str] = []
        while True:
            async with maker() as s, s.begin():
                batch = await jobs.claim(s, 7, kinds=["test.claim"])
                for j in batch:
                    await jobs.complete(s, j.id)
            if not batch:
                return got
            got += [j.payload["tag"] for j in batch if j.payload["tag"].startswith(tag)]

    a, b = await asyncio.gather(claimer(), claimer())
    assert not set(a) & set(b)
    assert len(a) + len(b) == 60


async def test_failing_job_is_retried_then_kept_dead(engine: AsyncEngine) -> None:
    tag = uuid.uuid4().hex
    await _enqueue(engine, "test.fail", [tag])
    maker = async_sessionmaker(engine, expire_on_commit=False)
    for _ in range(2):
        await asyncio.sleep(0.05)
        async with maker() as s, s.begin():
            batch = [j for j in await jobs.claim(s, 50, kinds=["test.fail"])]
        for job in batch:
            await worker._run(maker, job)
    async with maker() as s:
        row = (
            await s.execute(
                text("SELECT status, attempts, last_error FROM jobs WHERE payload->>'tag' = :t"),
                {"t": tag},
            )
        ).one()
    assert (row.status, row.attempts, row.last_error) == ("dead", 2, "peer answered 503")


async def test_notify_wakes_the_worker_before_its_poll(engine: AsyncEngine) -> None:
    db.engine = engine
    db.sessionmaker = async_sessionmaker(engine, expire_on_commit=False)
    stop = asyncio.Event()
    # Its next poll is an hour away: a job run before then was announced by NOTIFY.
    settings = make_settings(worker_poll_seconds=POLL_NEVER)
    task = asyncio.create_task(worker.run_forever(settings, stop))
    await asyncio.sleep(0.5)  # let it finish its first empty batch and start listening
    tag = uuid.uuid4().hex
    await _enqueue(engine, "test.record", [tag])
    gave_up_at = time.monotonic() + LIVENESS
    while tag not in ran and time.monotonic() < gave_up_at:
        await asyncio.sleep(0.02)
    stop.set()
    await asyncio.wait_for(task, 5)
    assert tag in ran


async def test_a_claim_reads_the_due_and_the_lapsed_jobs_by_index(engine: AsyncEngine) -> None:
    """The plan's shape, not its speed: finished jobs pile up by the million, and a claim
    (several a lead) must not read them; both halves of its condition have an index."""
    params = {"now": utcnow(), "until": utcnow(), "limit": 20, "kinds": ["webhook.deliver"],
              "owner": uuid.uuid4()}  # fmt: skip
    for by_kind in (False, True):
        claim = queries._claim_stmt(by_kind)
        async with direct.transaction(engine) as conn:
            # A few rows would be read by a sequential scan: ask for the plan a large table
            # gets.
            await conn.execute("SET LOCAL enable_seqscan = off")
            plan = [r[0] for r in await conn.fetch("EXPLAIN " + claim.sql, *claim.args(params))]
        assert not any("Seq Scan" in line for line in plan), plan
        used = " ".join(plan)
        assert "ix_jobs_due" in used and "ix_jobs_leased" in used, plan
