"""Webhook deliveries: authenticate → parse → pipeline → store raw in the inbox → answer.

A redelivery (same source and sender event id) gets the first delivery's status and JSON body.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.crypto import cipher
from app.db import database_unavailable, utcnow
from app.errors import PROBLEM_BASE, Conflict
from app.intake import pipeline, receive, store
from app.intake.adapters.base import (
    AdapterError,
    CallStatus,
    IgnoredDelivery,
    ParsedItem,
    RawDelivery,
)
from app.intake.models import InboxDelivery, Source
from app.intake.sources import secret_settings
from app.jobs import service as jobs
from app.leads.models import Lead
from app.outreach import twilio as outreach_twilio
from app.tenancy import get_owned

log = structlog.get_logger("app.intake")
META_RETRIEVE = "meta.retrieve"


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]


def body_context(inbox_id: uuid.UUID) -> str:
    return f"inbox-body:{inbox_id}"


async def receive_delivery(
    session: AsyncSession, source: Source, raw: RawDelivery, now: dt.datetime | None = None
) -> Answer:
    now = now or utcnow()
    settings = secret_settings(source)
    receive.authenticate(source.kind, settings, raw, now)
    # Read now: a failure below rolls the transaction back, which expires the source.
    kind = source.kind
    inbox = _inbox_row(source, raw, receive.event_id(kind, raw), now)
    # The row is written once, with its answer, after the processing and in its
    # transaction (two statements on every delivery before). An earlier attempt of the same
    # event that is stored already (the sender retried) is found by the dedup query, before
    # any lead is written or routed; one stored while this attempt worked makes the write
    # do nothing. Either way this attempt's work is rolled back and the first answer given.
    # No savepoint around the processing either (SAVEPOINT and RELEASE are two more round
    # trips): a failure rolls everything back, and the delivery is stored alone, quarantined.
    try:
        status, answer = await _run(session, source, inbox, raw, now, first=True)
        inbox.status = status
    except pipeline.Redelivered:
        await session.rollback()
        return await _first_answer(session, kind, inbox)
    except Exception as exc:  # never lose an authenticated delivery to a bug
        if database_unavailable(exc):
            raise  # 503: the sender retries, and the delivery is processed then
        await session.rollback()
        answer = _failed(inbox, kind, exc)
    _answered(inbox, answer, now)
    if await store.insert_inbox(session, inbox):
        return answer
    await session.rollback()
    return await _first_answer(session, kind, inbox)


# A delivery whose processing did not happen: kept for a replay.
REPLAYABLE = ("quarantined", "unmatched")


def _inbox_row(source: Source, raw: RawDelivery, event: str, now: dt.datetime) -> InboxDelivery:
    """The delivery's row, not in the session: app.intake.store writes it."""
    inbox_id = uuid.uuid4()
    return InboxDelivery(
        id=inbox_id,
        organization_id=source.organization_id,
        source_id=source.id,
        event_id=event,
        status="received",
        content_type=raw.content_type[:200],
        headers=receive.stored_headers(raw.headers),
        body=cipher().encrypt(raw.body, body_context(inbox_id)),
        query=receive.stored_query(source.kind, raw.query),
        received_at=now,
    )


async def _first_answer(session: AsyncSession, kind: str, inbox: InboxDelivery) -> Answer:
    first = (
        await session.execute(
            select(InboxDelivery).where(
                InboxDelivery.source_id == inbox.source_id,
                InboxDelivery.event_id == inbox.event_id,
            )
        )
    ).scalar_one()
    return Answer(first.response_status, receive.repeated(kind, first.response_body))


async def _run(
    session: AsyncSession,
    source: Source,
    inbox: InboxDelivery,
    raw: RawDelivery,
    now: dt.datetime,
    *,
    first: bool,
) -> tuple[str, Answer]:
    """Parse and run the pipeline: the delivery's new status and its answer. `first`: the
    delivery is not stored yet (see receive_delivery), rather than replayed."""
    parsed = receive.parse(source.kind, raw, source.mapping)
    if isinstance(parsed, CallStatus):
        # Not a lead: the status of a call we placed, a contact attempt on its lead.
        status, body = await outreach_twilio.record(
            session, source.organization_id, inbox.id, parsed, raw.query
        )
        return status, Answer(200, body)
    if isinstance(parsed, IgnoredDelivery):
        body = {"inbox_id": str(inbox.id), "status": "ignored", "reason": parsed.reason}
        return "ignored", Answer(200, body)
    guard = (inbox.source_id, inbox.event_id) if first else None
    leads = [await _ingest_item(session, source, inbox, item, now, guard) for item in parsed]
    return "processed", Answer(
        200, {"inbox_id": str(inbox.id), "status": "processed", "leads": leads}
    )


def _failed(inbox: InboxDelivery, kind: str, exc: Exception) -> Answer:
    """The delivery quarantined, with what made its processing fail."""
    if isinstance(exc, AdapterError):
        return _quarantine(inbox, kind, exc.reason, exc.field, list(exc.problems))
    log.error("intake_processing_failed", error_type=type(exc).__name__, inbox_id=str(inbox.id))
    reason = f"processing failed ({type(exc).__name__})"
    return _quarantine(inbox, kind, reason, None, [], type_="processing-failed")


def _answered(inbox: InboxDelivery, answer: Answer, now: dt.datetime) -> None:
    """The answer kept on the delivery's row, for its redeliveries."""
    inbox.processed_at = now
    inbox.response_status, inbox.response_body = answer.status, answer.body


async def _finish(
    session: AsyncSession, inbox: InboxDelivery, answer: Answer, now: dt.datetime
) -> Answer:
    """The delivery row gets one UPDATE, with its answer."""
    _answered(inbox, answer, now)
    await session.flush()
    return answer


def _quarantine(
    inbox: InboxDelivery,
    kind: str,
    reason: str,
    field: str | None,
    problems: list[Mapping[str, str]],
    type_: str = "unprocessable-delivery",
) -> Answer:
    inbox.status = "quarantined"
    inbox.reason = (reason + (f" ({field})" if field else ""))[:500]
    status = receive.quarantine_status(kind)
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + type_,
        "title": "Delivery quarantined",
        "status": status,
        "detail": f"The delivery was stored but could not be processed: {inbox.reason}. "
        "Fix the source's mapping and replay it.",
        "instance": f"/v1/inbox/{inbox.id}",
        "inbox_id": str(inbox.id),
    }
    if problems:
        body["errors"] = [dict(p) for p in problems]
    return Answer(status, body)


async def _ingest_item(
    session: AsyncSession,
    source: Source,
    inbox: InboxDelivery,
    item: ParsedItem,
    now: dt.datetime,
    redelivery_of: tuple[uuid.UUID, str] | None,
) -> dict[str, Any]:
    if item.needs_retrieval is not None:
        return await _meta_placeholder(session, source, inbox, item, now)
    assert item.lead is not None
    result = await pipeline.ingest(
        session,
        source.organization_id,
        item.lead,
        source=source,
        inbox_id=inbox.id,
        redelivery_of=redelivery_of,
        received_at=now,
        duplicate_window=None,
    )
    call = item.kind_specific.get("call")
    if result.resubmission and call is not None:
        # A known person called: a contact on their lead, not a new lead.
        from app.outreach import service as outreach_service

        await outreach_service.record_call(session, result.lead, call, now)
    return result.summary()


async def _meta_placeholder(
    session: AsyncSession, source: Source, inbox: InboxDelivery, item: ParsedItem, now: dt.datetime
) -> dict[str, Any]:
    """The lead exists from now on; its data comes from the Graph API in the background."""
    known = (
        await session.execute(
            select(Lead.id, Lead.status).where(
                Lead.source_id == source.id, Lead.external_id == item.external_id
            )
        )
    ).first()
    if known is not None:  # the same leadgen_id in another batch
        return {"lead_id": str(known.id), "status": known.status, "resubmission": False}
    ids = dict(item.needs_retrieval or {})
    lead = Lead(
        id=uuid.uuid4(),
        organization_id=source.organization_id,
        source_id=source.id,
        received_at=now,
        last_submitted_at=now,
        status="pending_retrieval",
        is_test=item.is_test,
        channel="lead_form",
        external_id=item.external_id,
        attribution={
            k: v
            for k, v in {
                "ad_id": ids.get("ad_id"),
                "adset_id": ids.get("adgroup_id"),
                "form_id": ids.get("form_id"),
            }.items()
            if v
        },
        normalization_flags=[],
    )
    session.add(lead)
    await session.flush()
    await jobs.enqueue(
        session,
        META_RETRIEVE,
        {
            "lead_id": str(lead.id),
            "source_id": str(source.id),
            "inbox_id": str(inbox.id),
            "leadgen_id": item.external_id,
        },
        org_id=source.organization_id,
        dedupe_key=f"{source.id}:{item.external_id}",
    )
    return {"lead_id": str(lead.id), "status": lead.status, "resubmission": False}


async def replay(session: AsyncSession, org_id: uuid.UUID, inbox_id: uuid.UUID) -> Answer:
    inbox = await get_owned(session, InboxDelivery, inbox_id, org_id, for_update=True)
    if inbox.status not in REPLAYABLE:
        raise Conflict(
            f"Only quarantined or unmatched deliveries can be replayed; this one is {inbox.status}."
        )
    if inbox.body is None:
        raise Conflict(
            "This delivery's raw body was dropped (erasure or retention): it cannot be replayed.",
            type="body-dropped",
        )
    source = await session.get_one(Source, inbox.source_id)
    raw = RawDelivery(
        body=cipher().decrypt(inbox.body, body_context(inbox.id)),
        content_type=inbox.content_type or "application/json",
        headers=inbox.headers,
        query=inbox.query or {},
    )
    inbox.replay_count += 1
    inbox.reason = None
    now = utcnow()
    # The row exists before the processing, so a failure rolls back to a savepoint.
    try:
        async with session.begin_nested():
            status, answer = await _run(session, source, inbox, raw, now, first=False)
        inbox.status = status
    except Exception as exc:
        if database_unavailable(exc):
            raise
        answer = _failed(inbox, source.kind, exc)
    return await _finish(session, inbox, answer, now)
