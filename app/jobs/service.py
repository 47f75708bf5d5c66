"""A job queue in PostgreSQL.

Jobs are inserted in the transaction of the change that causes them and announced with
NOTIFY (delivered on commit). Workers claim them with FOR UPDATE SKIP LOCKED, so any number
of workers on any number of machines never take the same job. A claim is a short lease in the
worker's name, renewed while the job runs: a job whose worker died (or lost the database) is
taken again within seconds, and a worker that could not finish a batch hands its jobs back.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import utcnow
from app.direct import Target
from app.jobs import queries
from app.jobs.models import Job

# Renewed every RENEW_EVERY while the job runs, so it bounds only how long a dead worker's
# jobs wait (a kill -9 leaves them `running`): not how long a job may take.
LEASE = dt.timedelta(seconds=15)
RENEW_EVERY = LEASE / 3
DEFAULT_SCHEDULE = (5, 30, 120, 600, 1800, 3600, 7200, 14400, 28800, 43200, 86400)

Handler = Callable[[AsyncSession, Job], Awaitable[None]]
# A handler that needs no ORM: given a bare connection in a transaction when the worker has
# an engine (no session built per job), and a session otherwise.
DirectHandler = Callable[[Target, Job], Awaitable[None]]


class RetryLater(Exception):
    """Raised by a handler to be run again after `after` (or the kind's schedule)."""

    def __init__(self, reason: str, after: dt.timedelta | None = None) -> None:
        super().__init__(reason)
        self.after = after


class GiveUp(Exception):
    """Raised by a handler when retrying cannot help: the job is kept as `dead` at once."""


@dataclass(frozen=True)
class JobKind:
    handler: Handler
    schedule: Sequence[float] = DEFAULT_SCHEDULE
    max_attempts: int = 12
    direct: DirectHandler | None = None


@dataclass
class Registry:
    kinds: dict[str, JobKind] = field(default_factory=dict)

    def register(
        self, kind: str, *, schedule: Sequence[float] = DEFAULT_SCHEDULE, max_attempts: int = 12
    ) -> Callable[[Handler], Handler]:
        def deco(fn: Handler) -> Handler:
            self.kinds[kind] = JobKind(fn, schedule, max_attempts)
            return fn

        return deco

    def register_direct(
        self, kind: str, *, schedule: Sequence[float] = DEFAULT_SCHEDULE, max_attempts: int = 12
    ) -> Callable[[DirectHandler], DirectHandler]:
        def deco(fn: DirectHandler) -> DirectHandler:
            self.kinds[kind] = JobKind(fn, schedule, max_attempts, direct=fn)
            return fn

        return deco


registry = Registry()


@dataclass(frozen=True, slots=True)
class NewJob:
    payload: dict[str, Any]
    org_id: uuid.UUID | None = None
    run_at: dt.datetime | None = None
    dedupe_key: str | None = None


async def enqueue(
    target: Target,
    kind: str,
    payload: dict[str, Any],
    *,
    org_id: uuid.UUID | None = None,
    run_at: dt.datetime | None = None,
    dedupe_key: str | None = None,
) -> None:
    """Queue a job in the caller's transaction; a queued job with the same dedupe key wins."""
    await enqueue_many(target, kind, [NewJob(payload, org_id, run_at, dedupe_key)])


async def enqueue_many(target: Target, kind: str, new: Sequence[NewJob]) -> None:
    """Queue jobs of one kind in one round trip, and announce them once (NOTIFY is sent on
    commit, and a worker woken by it claims every due job)."""
    if not new:
        return
    spec = registry.kinds.get(kind)
    now = utcnow()
    rows = [
        {"organization_id": job.org_id, "kind": kind, "payload": job.payload,
         "dedupe_key": job.dedupe_key, "status": "queued", "run_at": job.run_at or now,
         "attempts": 0, "max_attempts": spec.max_attempts if spec else 12, "created_at": now}
        for job in new
    ]  # fmt: skip
    await queries.insert_jobs(target, kind, rows)


async def claim(
    target: Target, limit: int = 10, kinds: Sequence[str] = (), owner: uuid.UUID | None = None
) -> list[Job]:
    """Take up to `limit` due jobs (of `kinds`, default all) for the lease, in `owner`'s
    name. Workers call it several times a lead, mostly to find nothing: it costs one
    statement and no ORM loading, and the jobs come back as plain, unattached `Job`s."""
    now = utcnow()
    params = {"now": now, "until": now + LEASE, "limit": limit, "kinds": list(kinds),
              "owner": owner}  # fmt: skip
    return await queries.claim(target, params, by_kind=bool(kinds))


async def renew(target: Target, ids: Sequence[int], owner: uuid.UUID) -> None:
    """Extend the lease of `owner`'s running jobs among `ids`."""
    if ids:
        await queries.renew(target, {"ids": list(ids), "owner": owner, "until": utcnow() + LEASE})


async def release(target: Target, ids: Sequence[int], owner: uuid.UUID) -> int:
    """Hand back `owner`'s claims among `ids` that it could not finish; a job another worker
    has taken since (its lease expired) is left alone. How many went back."""
    if not ids:
        return 0
    return await queries.release(target, {"ids": list(ids), "owner": owner, "now": utcnow()})


async def complete(target: Target, job_id: int) -> None:
    await queries.complete(target, {"id": job_id, "at": utcnow()})


def retry_delay(schedule: Sequence[float], attempts: int) -> dt.timedelta:
    """The schedule's step for this attempt, with ±20 % jitter so retries don't stampede."""
    base = schedule[min(max(attempts - 1, 0), len(schedule) - 1)]
    return dt.timedelta(seconds=base * random.uniform(0.8, 1.2))


async def fail(
    session: AsyncSession,
    job: Job,
    error: str,
    after: dt.timedelta | None = None,
    *,
    give_up: bool = False,
) -> str:
    """Reschedule with backoff, or keep the job as `dead` after its last attempt."""
    spec = registry.kinds.get(job.kind)
    schedule = spec.schedule if spec else DEFAULT_SCHEDULE
    dead = give_up or job.attempts >= job.max_attempts
    status = "dead" if dead else "queued"
    await session.execute(
        update(Job)
        .where(Job.id == job.id)
        .values(
            status=status,
            last_error=error[:1000],
            locked_until=None,
            locked_by=None,
            run_at=utcnow() + (after or retry_delay(schedule, job.attempts)),
            finished_at=utcnow() if dead else None,
        )
    )
    return status
