"""The inbox: every authenticated webhook delivery, stored raw with the answer it was given.

The flow (app.intake.flow) processes a delivery and keeps it here. A redelivery (same source
and sender event id) gets the first delivery's status and JSON body.
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
from app.errors import PROBLEM_BASE
from app.intake import queries, receive
from app.intake.adapters.base import AdapterError, RawDelivery
from app.intake.models import InboxDelivery
from app.leads.models import Source

log = structlog.get_logger("app.intake")


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]
    # The first answer to the same event, given again to a redelivery.
    replayed: bool = False


def body_context(inbox_id: uuid.UUID) -> str:
    return f"inbox-body:{inbox_id}"


async def keep(
    session: AsyncSession, kind: str, inbox: InboxDelivery, answer: Answer, now: dt.datetime
) -> Answer:
    """Write the delivery's row with its answer, after its processing and in its
    transaction; if an earlier attempt of the same event got there first, this attempt's
    work is rolled back and the first answer given."""
    answered(inbox, answer, now)
    if await queries.insert_inbox(session, inbox):
        return answer
    await session.rollback()
    return await first_answer(session, kind, inbox)


# A delivery whose processing did not happen: kept for a replay.
REPLAYABLE = ("quarantined", "unmatched")


def inbox_row(source: Source, raw: RawDelivery, event: str, now: dt.datetime) -> InboxDelivery:
    """The delivery's row, not in the session: `keep` writes it."""
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


async def first_answer(session: AsyncSession, kind: str, inbox: InboxDelivery) -> Answer:
    first = (
        await session.execute(
            select(InboxDelivery).where(
                InboxDelivery.source_id == inbox.source_id,
                InboxDelivery.event_id == inbox.event_id,
            )
        )
    ).scalar_one()
    return Answer(first.response_status, receive.repeated(kind, first.response_body), True)


def failed(inbox: InboxDelivery, kind: str, exc: Exception) -> Answer:
    """The delivery quarantined, with what made its processing fail."""
    if isinstance(exc, AdapterError):
        return _quarantine(inbox, kind, exc.reason, exc.field, list(exc.problems))
    log.error("intake_processing_failed", error_type=type(exc).__name__, inbox_id=str(inbox.id))
    reason = f"processing failed ({type(exc).__name__})"
    return _quarantine(inbox, kind, reason, None, [], type_="processing-failed")


def answered(inbox: InboxDelivery, answer: Answer, now: dt.datetime) -> None:
    """The answer kept on the delivery's row, for its redeliveries."""
    inbox.processed_at = now
    inbox.response_status, inbox.response_body = answer.status, answer.body


async def finish(
    session: AsyncSession, inbox: InboxDelivery, answer: Answer, now: dt.datetime
) -> Answer:
    """A stored delivery's row (a replay) gets one UPDATE, with its answer."""
    answered(inbox, answer, now)
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
