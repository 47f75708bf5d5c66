"""Erasure requests from a person: find their leads by keyed hash, erase them, keep a record.

A request is completed within the API call when it matches few leads, else queued and
completed by the worker (`privacy.erasure_request`), a batch per job. Either way the record
shows when it was received, verified and completed, and how many leads were erased. The
keyed hashes it was made with are dropped on completion: the record then holds no personal
data. A request not completed 45 days after it was received is overdue (CCPA 1798.130,
Washington MHMDA 19.373.040): /metrics and the daily purge report it.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import structlog
from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app import pagination
from app.audit import service as audit
from app.auth.service import Caller
from app.config import Settings
from app.crypto import cipher
from app.db import utcnow
from app.errors import Unprocessable
from app.jobs import service as jobs
from app.jobs.models import Job
from app.leads.identity import email_hash, phone_hash
from app.leads.models import Lead
from app.leads.normalize import normalize_email, normalize_phone
from app.privacy.erasure import erase_lead
from app.privacy.models import ErasureRequest
from app.privacy.schemas import ErasureRequestIn, ErasureRequestList, ErasureRequestOut
from app.tenancy import get_owned, scoped

log = structlog.get_logger("app.privacy")

ERASE_JOB = "privacy.erasure_request"
# 24 months, leap days included.
RECORD_RETENTION = dt.timedelta(days=2 * 366)
DEADLINE = dt.timedelta(days=45)
BATCH = 200


def note_context(request_id: uuid.UUID) -> str:
    return f"erasure-note:{request_id}"


def _verification_note(req: ErasureRequest) -> str | None:
    if req.verification_note_enc is None:
        return None
    return cipher().decrypt(req.verification_note_enc, note_context(req.id)).decode()


def to_out(req: ErasureRequest, now: dt.datetime | None = None) -> ErasureRequestOut:
    now = now or utcnow()
    due = req.received_at + DEADLINE
    return ErasureRequestOut(
        id=req.id,
        status=req.status,
        by_phone=req.by_phone,
        by_email=req.by_email,
        received_at=req.received_at,
        verified_at=req.verified_at,
        verified_by=req.verified_by,
        verification_note=_verification_note(req),
        completed_at=req.completed_at,
        leads_erased=req.leads_erased,
        due_by=due,
        overdue=req.completed_at is None and now > due,
        retain_until=req.retain_until,
    )


def _hashes(body: ErasureRequestIn) -> tuple[str | None, str | None]:
    phone = email = None
    if body.phone is not None:
        e164 = normalize_phone(body.phone).e164
        if e164 is None:
            raise Unprocessable("`phone` is not a valid phone number.", type="invalid-phone")
        phone = phone_hash(e164)
    if body.email is not None:
        normal = normalize_email(body.email)
        if normal is None:
            raise Unprocessable("`email` is not a valid email address.", type="invalid-email")
        email = email_hash(normal)
    return phone, email


def _matching(req: ErasureRequest) -> Any:
    wanted = [
        cond
        for value, cond in (
            (req.phone_hash, Lead.phone_hash == req.phone_hash),
            (req.email_hash, Lead.email_hash == req.email_hash),
        )
        if value
    ]
    return scoped(Lead, req.organization_id).where(Lead.erased_at.is_(None), or_(*wanted))


async def create(
    session: AsyncSession, caller: Caller, body: ErasureRequestIn, settings: Settings
) -> ErasureRequestOut:
    now = utcnow()
    if body.received_at > now + dt.timedelta(minutes=5):
        raise Unprocessable("`received_at` is in the future.", type="validation-error")
    phone, email = _hashes(body)
    req = ErasureRequest(
        id=uuid.uuid4(),
        organization_id=caller.org_id,
        status="queued",
        by_phone=phone is not None,
        by_email=email is not None,
        phone_hash=phone,
        email_hash=email,
        received_at=body.received_at,
        verified_at=now,
        verified_by=body.verified_by,
        leads_erased=0,
        actor_key_id=caller.key_id,
        created_at=now,
        retain_until=max(body.received_at, now) + RECORD_RETENTION,
    )
    if body.verification_note is not None:
        req.verification_note_enc = cipher().encrypt(body.verification_note, note_context(req.id))
    session.add(req)
    await session.flush()
    matches = await session.scalar(select(func.count()).select_from(_matching(req).subquery()))
    if (matches or 0) <= settings.erasure_inline_limit:
        await work(session, req, now, limit=None, caller=caller)
    else:
        await jobs.enqueue(
            session, ERASE_JOB, {"request_id": str(req.id)}, org_id=req.organization_id,
            dedupe_key=str(req.id),
        )  # fmt: skip
    await audit.record(
        session,
        caller,
        "erasure_request.create",
        "erasure_request",
        req.id,
        {"status": req.status, "leads_erased": req.leads_erased},
    )
    return to_out(req, now)


async def work(
    session: AsyncSession,
    req: ErasureRequest,
    now: dt.datetime,
    *,
    limit: int | None,
    caller: Caller | None = None,
) -> bool:
    """Erase up to `limit` (None: all) of the request's leads; True once it is completed."""
    stmt = _matching(req).order_by(Lead.received_at, Lead.id).with_for_update(skip_locked=True)
    if limit is not None:
        stmt = stmt.limit(limit + 1)
    leads = list((await session.execute(stmt)).scalars())
    done = limit is None or len(leads) <= limit
    for lead in leads[:limit]:
        if await erase_lead(session, lead, now, reason="erasure_request", caller=caller):
            req.leads_erased += 1
    if done:
        req.status, req.completed_at = "completed", utcnow()
        # The hashes found the leads; the record keeps no personal data from now on.
        req.phone_hash = req.email_hash = None
        log.info("erasure_request_completed", request_id=str(req.id), leads=req.leads_erased)
    await session.flush()
    return done


@jobs.registry.register(ERASE_JOB, schedule=(30, 120, 600, 3600), max_attempts=50)
async def _erase_job(session: AsyncSession, job: Job) -> None:
    req = await session.get(ErasureRequest, uuid.UUID(job.payload["request_id"]))
    if req is None or req.completed_at is not None:
        return
    if not await work(session, req, utcnow(), limit=BATCH):
        # More leads than a batch: the next batch is a job of its own, in a new transaction.
        await jobs.enqueue(
            session, ERASE_JOB, {"request_id": str(req.id)}, org_id=req.organization_id,
            dedupe_key=f"{req.id}:{req.leads_erased}",
        )  # fmt: skip


async def get(session: AsyncSession, caller: Caller, request_id: uuid.UUID) -> ErasureRequestOut:
    return to_out(await get_owned(session, ErasureRequest, request_id, caller.org_id))


async def list_requests(
    session: AsyncSession, caller: Caller, *, limit: int, cursor: str | None, status: str | None
) -> ErasureRequestList:
    stmt = scoped(ErasureRequest, caller.org_id)
    if status == "overdue":
        stmt = stmt.where(
            ErasureRequest.completed_at.is_(None), ErasureRequest.received_at < utcnow() - DEADLINE
        )
    elif status is not None:
        stmt = stmt.where(ErasureRequest.status == status)
    if cursor:
        when, key = pagination.decode("erasure-requests", cursor, uuid.UUID)
        stmt = stmt.where(
            pagination.older(ErasureRequest.received_at, ErasureRequest.id, when, key)
        )
    rows = list(
        (
            await session.execute(
                stmt.order_by(ErasureRequest.received_at.desc(), ErasureRequest.id.desc()).limit(
                    limit + 1
                )
            )
        ).scalars()
    )
    page = rows[:limit]
    now = utcnow()
    return ErasureRequestList(
        data=[to_out(r, now) for r in page],
        next_cursor=(
            pagination.encode("erasure-requests", page[-1].received_at, page[-1].id)
            if len(rows) > limit
            else None
        ),
    )


async def overdue_count(session: AsyncSession, now: dt.datetime) -> int:
    """Requests of every organisation not completed 45 days after they were received."""
    count = await session.scalar(
        select(func.count())
        .select_from(ErasureRequest)
        .where(ErasureRequest.completed_at.is_(None), ErasureRequest.received_at < now - DEADLINE)
    )
    return int(count or 0)
