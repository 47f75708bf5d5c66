"""The background worker: runs queued jobs, woken by NOTIFY or by its poll interval.

`lead-router worker` runs it alone; `lead-router serve` runs it in-process by default.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Sequence

import asyncpg
import structlog
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app import direct
from app.availability import pull
from app.config import Settings
from app.db import CONNECT_TIMEOUT, database_unavailable, db, utcnow
from app.handoff import delivery

# Importing a domain's tasks module registers its job kinds.
from app.intake import tasks as _intake_tasks  # noqa: F401
from app.integrations import verification as _verification  # noqa: F401
from app.jobs import service as jobs
from app.jobs.models import CHANNEL, Job
from app.lifecycle import reroute as _reroute  # noqa: F401
from app.ops import failures
from app.outreach import sla
from app.privacy import requests as _requests  # noqa: F401
from app.privacy import retention

log = structlog.get_logger("app.worker")

JOB_CONCURRENCY = 4
BATCH = 20
# While the database is away: the first retry after 0.1 s, doubling up to 1 s, so that the
# worker is back (and listening) within about a second of the database's return.
BACKOFF_FIRST, BACKOFF_MAX = 0.1, 1.0
# Without its LISTEN connection, the worker polls this often instead of its poll interval.
DEAF_POLL = 0.5
REPORT_EVERY = 30.0


class BatchUnfinished(Exception):
    """Some of a batch's jobs could not be run or recorded (the database went away): their
    claims, in `ids`, are handed back as soon as the database lets us."""

    def __init__(self, ids: Sequence[int], cause: BaseException) -> None:
        super().__init__(f"{len(ids)} jobs unfinished")
        self.ids = list(ids)
        self.cause = cause


async def run_once(
    sessionmaker: async_sessionmaker[AsyncSession],
    limit: int = BATCH,
    kinds: Sequence[str] = (),
    owner: uuid.UUID | None = None,
) -> int:
    """Claim and run one batch (of `kinds`, default all) in `owner`'s name; returns how many
    jobs ran. Raises BatchUnfinished, after trying to hand the rest back, when some could
    not be run or their outcome not recorded."""
    owner = owner or uuid.uuid4()
    bind = sessionmaker.kw.get("bind")
    engine = bind if isinstance(bind, AsyncEngine) else None
    if engine is not None:
        # Most claims find nothing (every NOTIFY wakes every worker): no session for them,
        # and, as a claim is one statement, no BEGIN and COMMIT around it either.
        async with direct.autocommit(engine) as conn:
            batch = await jobs.claim(conn, limit, kinds, owner)
    else:
        async with sessionmaker() as session, session.begin():
            batch = await jobs.claim(session, limit, kinds, owner)
    if not batch:
        return 0
    # Jobs are independent (each its own transaction, rows taken with SKIP LOCKED), and most
    # wait on a receiver or the database: run a few at once. One at a time, a process
    # delivered fewer webhooks a second than intake accepts leads. Bounded, so the worker
    # never holds more than a few of the pool's connections. Sessions that all share one
    # connection (a caller's larger transaction, as in tests) take turns.
    slots = asyncio.Semaphore(JOB_CONCURRENCY if engine is not None else 1)
    unfinished = {job.id for job in batch}

    async def run(job: Job) -> None:
        async with slots:
            await _run(sessionmaker, job, engine)
        unfinished.discard(job.id)

    renewing = asyncio.create_task(_keep_leases(engine, unfinished, owner)) if engine else None
    try:
        results = await asyncio.gather(*(run(job) for job in batch), return_exceptions=True)
    finally:
        if renewing is not None:
            renewing.cancel()
        if unfinished:
            with contextlib.suppress(Exception):
                await _release(sessionmaker, engine, unfinished, owner)
    errors = [r for r in results if isinstance(r, BaseException)]
    if errors:
        raise BatchUnfinished(sorted(unfinished), errors[0]) from errors[0]
    return len(batch)


async def _keep_leases(engine: AsyncEngine, ids: set[int], owner: uuid.UUID) -> None:
    """Renew the batch's leases while its jobs run, so that only a worker that is gone
    (killed, or cut from the database) lets them lapse."""
    while ids:
        await asyncio.sleep(jobs.RENEW_EVERY.total_seconds())
        try:
            async with direct.autocommit(engine) as conn:
                await jobs.renew(conn, sorted(ids), owner)
        except Exception as exc:  # the database is away: the jobs will say so themselves
            log.warning("job_leases_not_renewed", error_type=type(exc).__name__, jobs=len(ids))


async def _release(
    sessionmaker: async_sessionmaker[AsyncSession],
    engine: AsyncEngine | None,
    ids: set[int],
    owner: uuid.UUID,
) -> None:
    if engine is not None:
        async with direct.autocommit(engine) as conn:
            released = await jobs.release(conn, sorted(ids), owner)
    else:
        async with sessionmaker() as session, session.begin():
            released = await jobs.release(session, sorted(ids), owner)
    ids.clear()
    if released:
        log.info("jobs_released", jobs=released)


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


class Worker:
    """The loop of `run_forever`: batches, woken by NOTIFY on a LISTEN connection of its
    own, and the way back from a database that went away (backing off, handing back what it
    could not finish, listening again) without a restart."""

    def __init__(self, settings: Settings, engine: AsyncEngine) -> None:
        self.settings = settings
        self.dsn = engine.url.render_as_string(hide_password=False).replace(
            "postgresql+asyncpg://", "postgresql://", 1
        )
        self.owner = uuid.uuid4()
        self.wake = asyncio.Event()
        self.listener: asyncpg.Connection | None = None
        self.deaf_since: float | None = None
        self.unreleased: set[int] = set()
        self.down_since: float | None = None
        self.failures = 0
        self.last_report = 0.0
        self.periodic_scheduled = False

    async def listen(self) -> bool:
        """LISTEN on the jobs channel, connecting again if the connection was lost."""
        if self.listener is not None and not self.listener.is_closed():
            return True
        if self.listener is not None and self.deaf_since is None:
            self.deaf_since = time.monotonic()
            log.warning("worker_listen_lost")
        try:
            conn = await asyncpg.connect(self.dsn, timeout=CONNECT_TIMEOUT)
            await conn.add_listener(CHANNEL, lambda *_: self.wake.set())
        except Exception:
            return False  # the database is away: said once, by the batch that fails
        # A lost connection wakes the loop, which connects again.
        conn.add_termination_listener(lambda *_: self.wake.set())
        if self.deaf_since is not None:
            deaf = round(time.monotonic() - self.deaf_since, 2)
            log.info("worker_listening", reconnected=True, deaf_seconds=deaf)
        else:
            log.info("worker_listening", reconnected=False)
        self.listener, self.deaf_since = conn, None
        return True

    async def check_listener(self) -> None:
        """After a quiet poll interval: a connection cut without a FIN (a failover, a
        firewall) looks open; one round trip tells."""
        if self.listener is None or self.listener.is_closed():
            return
        try:
            await asyncio.wait_for(self.listener.fetchval("SELECT 1"), CONNECT_TIMEOUT)
        except Exception:
            self.listener.terminate()

    async def batch(self, sessionmaker: async_sessionmaker[AsyncSession]) -> int:
        bind = sessionmaker.kw.get("bind")
        assert isinstance(bind, AsyncEngine)
        if self.unreleased:
            await _release(sessionmaker, bind, self.unreleased, self.owner)
        if not self.periodic_scheduled:
            await self.schedule_periodic(sessionmaker)
        try:
            return await run_once(sessionmaker, owner=self.owner)
        except BatchUnfinished as exc:
            self.unreleased.update(exc.ids)
            raise

    async def schedule_periodic(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        """The periodic jobs (the SLA sweep, the daily purge) each queue their successor;
        this starts them, once the database answers."""
        for name, ensure in (("sla_sweep", sla.ensure_scheduled),
                             ("availability_poll", _schedule_availability_poll),
                             ("purge", retention.ensure_scheduled)):  # fmt: skip
            try:
                await ensure(sessionmaker)
            except Exception as exc:
                if database_unavailable(exc):
                    raise
                # Not retried here; the next worker to start schedules it.
                log.error(f"{name}_not_scheduled", error_type=type(exc).__name__)
        self.periodic_scheduled = True

    def failed(self, exc: Exception) -> float:
        """Log the failure (once per outage, then a line every REPORT_EVERY); the delay."""
        cause = exc.cause if isinstance(exc, BatchUnfinished) else exc
        now = time.monotonic()
        self.failures += 1
        if not database_unavailable(cause):
            log.error("worker_batch_failed", error_type=type(cause).__name__,
                      **failures.failure_site(cause))  # fmt: skip
        elif self.down_since is None:
            self.down_since = self.last_report = now
            log.warning("worker_database_unavailable", error_type=type(cause).__name__,
                        unfinished_jobs=len(self.unreleased))  # fmt: skip
        elif now - self.last_report >= REPORT_EVERY:
            self.last_report = now
            down = round(now - self.down_since, 1)
            log.warning("worker_database_unavailable", error_type=type(cause).__name__,
                        seconds=down, attempts=self.failures)  # fmt: skip
        return float(min(BACKOFF_FIRST * 2 ** (self.failures - 1), BACKOFF_MAX))

    def succeeded(self) -> None:
        if self.down_since is not None:
            log.info("worker_resumed", seconds=round(time.monotonic() - self.down_since, 2))
        self.down_since, self.failures = None, 0

    async def run(
        self, sessionmaker: async_sessionmaker[AsyncSession], stop: asyncio.Event
    ) -> None:
        poll = self.settings.worker_poll_seconds
        while not stop.is_set():
            self.wake.clear()
            listening = await self.listen()
            try:
                ran = await self.batch(sessionmaker)
            except Exception as exc:  # a database blip must not kill the worker
                delay = self.failed(exc)
            else:
                self.succeeded()
                # A short batch took every due job; one queued since has set `wake` (its
                # NOTIFY). Claiming again at once found nothing, for one wasted transaction.
                if ran >= BATCH:
                    continue
                # Deaf (no LISTEN), the worker polls often, so deliveries are not late.
                delay = poll if listening else min(poll, DEAF_POLL)
            if not await _wait(self.wake, stop, delay) and listening:
                await self.check_listener()

    async def close(self) -> None:
        if self.listener is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.listener.close(), CONNECT_TIMEOUT)


async def _schedule_availability_poll(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    """The poll of FHIR availability feeds, which chains like the sweep."""
    async with sessionmaker() as session, session.begin():
        await pull.schedule(session, pull.next_minute(utcnow()))


async def _wait(wake: asyncio.Event, stop: asyncio.Event, seconds: float) -> bool:
    """Until woken, stopped or `seconds` have passed; False on the latter."""
    waiters = [asyncio.ensure_future(wake.wait()), asyncio.ensure_future(stop.wait())]
    done, _ = await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    for w in waiters:
        w.cancel()
    return bool(done)


async def run_forever(settings: Settings, stop: asyncio.Event | None = None) -> None:
    stop = stop or asyncio.Event()
    owns_engine = db.engine is None
    engine = db.connect(settings)
    assert db.sessionmaker is not None
    loop = Worker(settings, engine)
    log.info("worker_started", worker=str(loop.owner))
    try:
        await loop.run(db.sessionmaker, stop)
    finally:
        with contextlib.suppress(Exception):
            await delivery.close_clients()
        await loop.close()
        if owns_engine:
            await db.dispose()
        log.info("worker_stopped")
