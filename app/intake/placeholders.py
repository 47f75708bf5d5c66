"""Leads that exist before their data: a Meta lead-ads delivery names a lead whose fields the
Graph API gives later (app.intake.tasks retrieves them and runs the flow on this row)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.intake.adapters.base import ParsedItem
from app.intake.models import InboxDelivery
from app.jobs import service as jobs
from app.leads import queries as leads_queries
from app.leads.models import Lead, Source

META_RETRIEVE = "meta.retrieve"


async def meta_placeholder(
    session: AsyncSession, source: Source, inbox: InboxDelivery, item: ParsedItem, now: dt.datetime
) -> dict[str, Any]:
    """The lead exists from now on; its data comes from the Graph API in the background
    (app.intake.tasks), which ingests it into this row through the flow."""
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
    await leads_queries.insert_lead(session, lead)
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
