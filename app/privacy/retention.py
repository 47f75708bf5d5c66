"""The daily purge: least data, shortest time.

- Leads with no activity (submission, contact attempt, appointment, read) for
  `lead_retention_days` are erased (app.privacy.erasure), in every organisation.
- Raw bodies of deliveries are dropped `inbox_retention_days` after they arrived; those
  never processed (quarantined, unmatched) are kept for a replay, `quarantine_retention_days`.
- Consent events whose legal hold (`retain_until`) has passed are deleted: the one delete
  the append-only trigger of `consent_events` allows (migration 0005); so are the
  certificate checks (TrustedForm, Jornaya) kept with them.
- Erasure request records older than their 24 months are deleted, and those overdue (not
  completed 45 days after they were received) are logged.
- Stored answers of `Idempotency-Key` requests past their 24 hours are deleted.
- Finished background jobs are deleted `job_retention_days` after they finished: every lead
  queues several, and nothing reads them once done.

Idempotent: a second run finds nothing left to do. `lead-router purge --dry-run` counts the
same rows without changing any.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    and_,
    cast,
    delete,
    exists,
    func,
    not_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.appointments.models import Appointment
from app.audit.models import AuditEvent
from app.config import Settings, get_settings
from app.consent.models import ConsentEvent
from app.db import utcnow
from app.idempotency import IdempotencyKey
from app.intake.models import InboxDelivery
from app.integrations.models import ConsentVerification
from app.jobs import service as jobs
from app.jobs.models import Job
from app.leads.models import Lead
from app.outreach.models import ContactAttempt
from app.privacy import requests
from app.privacy.erasure import erase_lead
from app.privacy.models import ErasureRequest
from app.privacy.schemas import PurgeCounts

log = structlog.get_logger("app.privacy")

PURGE_JOB = "privacy.purge"
# Leads erased in one run (one transaction); a full batch runs again a minute later.
LEAD_BATCH = 1000
# Deliveries whose processing did not happen keep their body for a replay.
UNPROCESSED = ("quarantined", "unmatched")


@dataclass(frozen=True)
class Cutoffs:
    """Everything older than these goes."""

    lead: dt.datetime
    inbox: dt.datetime
    quarantine: dt.datetime

    @classmethod
    def of(cls, settings: Settings, now: dt.datetime) -> Cutoffs:
        return cls(
            lead=now - dt.timedelta(days=settings.lead_retention_days),
            inbox=now - dt.timedelta(days=settings.inbox_retention_days),
            quarantine=now - dt.timedelta(days=settings.quarantine_retention_days),
        )


def _inactive_leads(cutoff: dt.datetime) -> Select[Any]:
    """Leads not erased whose every trace of activity is older than the cutoff."""
    lead_ref = cast(Lead.id, String)
    active: list[ColumnElement[bool]] = [
        exists().where(ContactAttempt.lead_id == Lead.id, ContactAttempt.attempted_at >= cutoff),
        exists().where(
            Appointment.lead_id == Lead.id,
            (Appointment.updated_at >= cutoff) | (Appointment.start >= cutoff),
        ),
        # Reads and changes are audited against the lead (lead.read, consent.read, ...).
        exists().where(
            AuditEvent.target_type == "lead",
            AuditEvent.target_id == lead_ref,
            AuditEvent.created_at >= cutoff,
            # a refused request or another organisation's probe of the id is no activity
            AuditEvent.organization_id == Lead.organization_id,
            AuditEvent.outcome == "allowed",
        ),
    ]
    return (
        select(Lead.id)
        .where(
            Lead.erased_at.is_(None),
            Lead.last_submitted_at < cutoff,
            Lead.received_at < cutoff,
            *(not_(a) for a in active),
        )
        .order_by(Lead.last_submitted_at, Lead.id)
    )


def _bodies(status_ok: ColumnElement[bool], before: dt.datetime) -> ColumnElement[bool]:
    return and_(
        InboxDelivery.body_dropped_at.is_(None),
        InboxDelivery.received_at < before,
        status_ok,
    )


async def _count(session: AsyncSession, where: ColumnElement[bool], model: type) -> int:
    return int(await session.scalar(select(func.count()).select_from(model).where(where)) or 0)


async def purge(
    session: AsyncSession, settings: Settings, now: dt.datetime, *, dry_run: bool
) -> PurgeCounts:
    """One run of the purge in the caller's transaction."""
    cut = Cutoffs.of(settings, now)
    ids = list((await session.execute(_inactive_leads(cut.lead).limit(LEAD_BATCH + 1))).scalars())
    more, ids = len(ids) > LEAD_BATCH, ids[:LEAD_BATCH]
    processed = _bodies(InboxDelivery.status.not_in(UNPROCESSED), cut.inbox)
    unprocessed = _bodies(InboxDelivery.status.in_(UNPROCESSED), cut.quarantine)
    consent_expired = ConsentEvent.retain_until < now
    checks_expired = ConsentVerification.retain_until < now
    requests_expired = ErasureRequest.retain_until < now
    keys_expired = IdempotencyKey.expires_at < now
    jobs_finished = Job.status.in_(("done", "dead")) & (
        Job.finished_at < now - dt.timedelta(days=settings.job_retention_days)
    )
    counts = PurgeCounts(
        dry_run=dry_run,
        lead_cutoff=cut.lead,
        leads_erased=len(ids),
        inbox_bodies_dropped=await _count(session, processed, InboxDelivery),
        quarantined_bodies_dropped=await _count(session, unprocessed, InboxDelivery),
        consent_events_deleted=await _count(session, consent_expired, ConsentEvent),
        consent_verifications_deleted=await _count(session, checks_expired, ConsentVerification),
        erasure_requests_deleted=await _count(session, requests_expired, ErasureRequest),
        idempotency_keys_deleted=await _count(session, keys_expired, IdempotencyKey),
        jobs_deleted=await _count(session, jobs_finished, Job),
        erasure_requests_overdue=await requests.overdue_count(session, now),
        more_leads_due=more,
        lead_ids=ids,
    )
    if not dry_run:
        erased = 0
        for lead in (
            await session.execute(
                select(Lead).where(Lead.id.in_(ids)).with_for_update(skip_locked=True)
            )
        ).scalars():
            erased += await erase_lead(session, lead, now, reason="retention")
        counts.leads_erased = erased
        for where in (processed, unprocessed):
            await session.execute(
                update(InboxDelivery)
                .where(where)
                .values(body=None, headers={}, body_dropped_at=now)
                .execution_options(synchronize_session=False)
            )
        await session.execute(delete(ConsentEvent).where(consent_expired))
        await session.execute(delete(ConsentVerification).where(checks_expired))
        await session.execute(delete(ErasureRequest).where(requests_expired))
        await session.execute(delete(IdempotencyKey).where(keys_expired))
        await session.execute(delete(Job).where(jobs_finished))
    log.info("purge", **counts.model_dump(exclude={"lead_ids", "lead_cutoff"}))
    if counts.erasure_requests_overdue:
        log.warning("erasure_requests_overdue", count=counts.erasure_requests_overdue)
    return counts


def _next_run(now: dt.datetime) -> dt.datetime:
    """The next 03:00 UTC: one run a day, at a quiet hour for most of the US."""
    today = now.replace(hour=3, minute=0, second=0, microsecond=0)
    return today if today > now else today + dt.timedelta(days=1)


async def schedule(session: AsyncSession, run_at: dt.datetime) -> None:
    await jobs.enqueue(
        session, PURGE_JOB, {}, run_at=run_at, dedupe_key=f"{PURGE_JOB}:{run_at:%Y%m%dT%H%M}"
    )


@jobs.registry.register(PURGE_JOB, schedule=(60, 300, 900, 3600), max_attempts=1000)
async def _purge_job(session: AsyncSession, job: Job) -> None:

    now = utcnow()
    counts = await purge(session, get_settings(), now, dry_run=False)
    next_at = now + dt.timedelta(minutes=1) if counts.more_leads_due else _next_run(now)
    await schedule(session, next_at)


async def ensure_scheduled(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    """Called when a worker starts: the next run's dedupe key keeps one chain however many
    workers start (and a start never runs the purge at once)."""
    async with sessionmaker() as session, session.begin():
        await schedule(session, _next_run(utcnow()))
