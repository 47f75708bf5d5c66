"""The background worker: runs queued jobs, woken by NOTIFY or by its poll interval.

`lead-router worker` runs it alone; `lead-router serve` runs it in-process by default.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Any

import asyncpg
import structlog
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app import direct
from app.config import Settings
from app.db import db, utcnow
from app.jobs import service as jobs
from app.jobs.models import Job

log = structlog.get_logger("app.worker")

JOB_CONCURRENCY = 4
BATCH = 20


def _register_handlers() -> None:
    # Importing a domain's tasks module registers its job kinds.
    import app.availability.pull
    import app.handoff.delivery
    import app.intake.tasks
    import app.routing.reroute  # noqa: F401
    from app.integrations import verification as _verification  # noqa: F401
    from app.outreach import sla as _sla  # noqa: F401
    from app.privacy import requests as _requests  # noqa: F401
    from app.privacy import retention as _retention  # noqa: F401


async def run_once(
    sessionmaker: async_sessionmaker[AsyncSession], limit: int = BATCH, kinds: Sequence[str] = ()
) -> int:
    """Claim and run one batch (of `kinds`, default all); returns how many jobs ran."""
    _register_handlers()
    bind = sessionmaker.kw.get("bind")
    engine = bind if isinstance(bind, AsyncEngine) else None
    if engine is not None:
        # Most claims find nothing (every NOTIFY wakes every worker): no session for them,
        # and, as a claim is one statement, no BEGIN and COMMIT around it either.
        async with direct.autocommit(engine) as conn:
            batch = await jobs.claim(conn, limit, kinds)
    else:
        async with sessionmaker() as session, session.begin():
            batch = await jobs.claim(session, limit, kinds)
    # Jobs are independent (each its own transaction, rows taken with SKIP LOCKED), and most
    # wait on a receiver or the database: run a few at once. One at a time, a process
    # delivered fewer webhooks a second than intake accepts leads. Bounded, so the worker
    # never holds more than a few of the pool's connections. Sessions that all share one
    # connection (a caller's larger transaction, as in tests) take turns.
    slots = asyncio.Semaphore(JOB_CONCURRENCY if engine is not None else 1)

    async def run(job: Job) -> None:
        async with slots:
            await _run(sessionmaker, job, engine)

    await asyncio.gather(*(run(job) for job in batch))
    return len(batch)


async def _run(
    sessionmaker: async_sessionmaker[AsyncSession], job: Job, engine: AsyncEngine | None = None
) -> None:
    spec = jobs.registry.kinds.get(job.kind)
    error: str
    after = None
    give_up = False
    try:
        if spec is None:
            raise LookupError(f"no handler for job kind {job.kind}")
        if spec.direct is not None and engine is not None:
            # A webhook delivery is a few statements around a POST: building a session for
            # it cost more CPU than the statements.
            async with direct.transaction(engine) as conn:
                await spec.direct(conn, job)
                await jobs.complete(conn, job.id)
            return
        async with sessionmaker() as session, session.begin():
            await spec.handler(session, job)
            await jobs.complete(session, job.id)
        return
    except jobs.RetryLater as exc:
        error, after = str(exc), exc.after
    except jobs.GiveUp as exc:
        error, give_up = str(exc), True
    except Exception as exc:
        # The exception text may quote personal data from a payload: keep the class only,
        # unless the handler raised a message it wrote itself.
        error = str(exc) if isinstance(exc, LookupError | RuntimeError) else type(exc).__name__
    async with sessionmaker() as session, session.begin():
        status = await jobs.fail(session, job, error, after, give_up=give_up)
    log.warning("job_failed", kind=job.kind, job_id=job.id, attempts=job.attempts, status=status)


async def _listen(url: str, wake: asyncio.Event) -> Any:
    dsn = url.replace("postgresql+asyncpg://", "postgresql://", 1)
    conn = await asyncpg.connect(dsn)
    await conn.add_listener(jobs.CHANNEL, lambda *_: wake.set())
    return conn


async def run_forever(settings: Settings, stop: asyncio.Event | None = None) -> None:
    stop = stop or asyncio.Event()
    _register_handlers()
    owns_engine = db.engine is None
    engine = db.connect(settings)
    assert db.sessionmaker is not None
    wake = asyncio.Event()
    listener = await _listen(engine.url.render_as_string(hide_password=False), wake)
    log.info("worker_started")
    from app.outreach import sla  # the periodic sweep queues its successor; this starts it

    try:
        await sla.ensure_scheduled(db.sessionmaker)
    except Exception as exc:  # a later start, or the next worker, schedules it
        log.error("sla_sweep_not_scheduled", error_type=type(exc).__name__)
    from app.availability import pull  # the poll of FHIR availability feeds, like the sweep

    try:
        async with db.sessionmaker() as session, session.begin():
            await pull.schedule(session, pull.next_minute(utcnow()))
    except Exception as exc:
        log.error("availability_poll_not_scheduled", error_type=type(exc).__name__)
    from app.privacy import retention  # the daily purge chains the same way

    try:
        await retention.ensure_scheduled(db.sessionmaker)
    except Exception as exc:
        log.error("purge_not_scheduled", error_type=type(exc).__name__)
    try:
        while not stop.is_set():
            wake.clear()
            try:
                ran = await run_once(db.sessionmaker)
            except Exception as exc:  # a database blip must not kill the worker
                log.error("worker_batch_failed", error_type=type(exc).__name__)
                ran = 0
            # A short batch took every due job; one queued since has set `wake` (its NOTIFY).
            # Claiming again at once found nothing, for one wasted transaction per batch.
            if ran >= BATCH:
                continue
            waiters = [asyncio.ensure_future(wake.wait()), asyncio.ensure_future(stop.wait())]
            await asyncio.wait(
                waiters, timeout=settings.worker_poll_seconds, return_when=asyncio.FIRST_COMPLETED
            )
            for w in waiters:
                w.cancel()
    finally:
        from app.handoff import delivery  # registered by _register_handlers, like the others

        with contextlib.suppress(Exception):
            await delivery.close_clients()
        with contextlib.suppress(Exception):
            await listener.close()
        if owns_engine:
            await db.dispose()
        log.info("worker_stopped")
