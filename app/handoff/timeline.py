"""A lead's timeline: its submissions and every recorded event, in the order they happened."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from app.handoff.schemas import Timeline, TimelineEntry
from app.leads.models import Lead, LeadSubmission
from app.outbox.models import LeadEvent
from app.tenancy import get_owned, scoped

MAX_EVENTS = 1000


async def timeline(session: AsyncSession, org_id: uuid.UUID, lead_id: uuid.UUID) -> Timeline:
    lead = await get_owned(session, Lead, lead_id, org_id)
    subs = (
        await session.execute(
            scoped(LeadSubmission, org_id)
            .where(LeadSubmission.lead_id == lead.id)
            .order_by(LeadSubmission.received_at, LeadSubmission.id)
            .limit(MAX_EVENTS)
        )
    ).scalars()
    events = (
        await session.execute(
            scoped(LeadEvent, org_id)
            .where(LeadEvent.lead_id == lead.id)
            .order_by(LeadEvent.occurred_at, LeadEvent.id)
            .limit(MAX_EVENTS)
        )
    ).scalars()
    # (time, source rank, sequence): a submission precedes what it caused at the same instant.
    keyed: list[tuple[tuple[dt.datetime, int, int], TimelineEntry]] = []
    for i, s in enumerate(subs):
        entry = TimelineEntry(
            at=s.received_at,
            type="submission.resubmitted" if s.is_resubmission else "submission.received",
            data={"submission_id": str(s.id), "source_id": s.source_id and str(s.source_id),
                  "channel": s.channel},
        )  # fmt: skip
        keyed.append(((s.received_at, 0, i), entry))
    for e in events:
        entry = TimelineEntry(at=e.occurred_at, type=e.type, data=e.data)
        keyed.append(((e.occurred_at, 1, e.id), entry))
    keyed.sort(key=lambda pair: pair[0])
    return Timeline(lead_id=lead.id, status=lead.status, events=[entry for _, entry in keyed])
