"""The job queue's statements, sent straight through asyncpg (app.direct): workers claim
several times a lead, mostly to find nothing, so each is one statement and no ORM loading."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import BigInteger, String, any_, bindparam, func, null, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY, insert

from app.direct import Direct, Target, execute_many, fetch
from app.jobs.models import CHANNEL, Job

_COLUMNS = ("organization_id", "kind", "payload", "dedupe_key", "status", "run_at", "attempts",
            "max_attempts", "created_at")  # fmt: skip
# A queued or running job with the same dedupe key wins; jobs without a key never conflict.
_ENQUEUE = Direct(
    insert(Job)
    .values({c: bindparam(c) for c in _COLUMNS})
    .on_conflict_do_nothing(
        index_elements=["kind", "dedupe_key"],
        index_where=text("dedupe_key IS NOT NULL AND status IN ('queued', 'running')"),
    )
)
_NOTIFY = Direct(select(func.pg_notify(CHANNEL, bindparam("kind"))))


async def insert_jobs(target: Target, kind: str, rows: Sequence[Mapping[str, Any]]) -> None:
    """Jobs of one kind in one round trip, announced once (NOTIFY is sent on commit)."""
    await execute_many(target, _ENQUEUE, rows)
    await fetch(target, _NOTIFY, {"kind": kind})


_JOB_COLUMNS = tuple(c.key for c in Job.__table__.c)


@functools.cache
def _claim_stmt(by_kind: bool) -> Direct:
    due = (Job.status == "queued") & (Job.run_at <= bindparam("now")) | (
        (Job.status == "running") & (Job.locked_until < bindparam("now"))
    )
    pick = select(Job.id).where(due).order_by(Job.run_at).limit(bindparam("limit"))
    if by_kind:
        pick = pick.where(Job.kind == any_(bindparam("kinds", type_=ARRAY(String()))))
    return Direct(
        update(Job)
        .where(Job.id.in_(pick.with_for_update(skip_locked=True).scalar_subquery()))
        .values(status="running", locked_until=bindparam("until"), attempts=Job.attempts + 1,
                locked_by=bindparam("owner"))
        .returning(*Job.__table__.c)
    )  # fmt: skip


async def claim(target: Target, params: Mapping[str, Any], *, by_kind: bool) -> list[Job]:
    """The jobs claimed, as plain unattached `Job`s."""
    rows = await fetch(target, _claim_stmt(by_kind), params)
    return [Job(**dict(zip(_JOB_COLUMNS, row, strict=True))) for row in rows]


_MINE = (
    Job.id == any_(bindparam("ids", type_=ARRAY(BigInteger()))),
    Job.locked_by == bindparam("owner"),
    Job.status == "running",
)
_RENEW = Direct(update(Job).where(*_MINE).values(locked_until=bindparam("until")))
# Handed back as if never claimed: the attempt did not happen (or its outcome was lost with
# the database), so it does not count against the job's attempts.
_RELEASE = Direct(
    update(Job)
    .where(*_MINE)
    .values(status="queued", locked_until=null(), locked_by=null(), run_at=bindparam("now"),
            attempts=func.greatest(Job.attempts - 1, 0))
    .returning(Job.id)
)  # fmt: skip


async def renew(target: Target, params: Mapping[str, Any]) -> None:
    await fetch(target, _RENEW, params)


async def release(target: Target, params: Mapping[str, Any]) -> int:
    """How many jobs went back."""
    return len(await fetch(target, _RELEASE, params))


_COMPLETE = Direct(
    update(Job)
    .where(Job.id == bindparam("id"))
    .values(status="done", finished_at=bindparam("at"), locked_until=null(), locked_by=null(),
            last_error=null())
)  # fmt: skip


async def complete(target: Target, params: Mapping[str, Any]) -> None:
    await fetch(target, _COMPLETE, params)
