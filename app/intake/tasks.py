"""Background intake work: retrieving Meta leads from the Graph API."""

from __future__ import annotations

import uuid

import httpx
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import get_settings
from app.intake import flow
from app.intake.adapters.base import AdapterError
from app.intake.adapters.meta import lead_from_graph
from app.intake.placeholders import META_RETRIEVE
from app.intake.sources import secret_settings
from app.jobs.models import Job
from app.jobs.service import GiveUp, RetryLater, registry
from app.leads.models import Lead, Source

GRAPH_FIELDS = (
    "id,created_time,ad_id,ad_name,adset_id,adset_name,campaign_id,campaign_name,form_id,"
    "field_data,custom_disclaimer_responses,is_organic,platform"
)
# Meta keeps leads retrievable for 90 days; back off up to hours, for about two days.
SCHEDULE = (5, 30, 120, 600, 1800, 3600, 7200, 14400, 28800, 43200, 86400)


async def fetch_graph_lead(source: Source, leadgen_id: str) -> dict[str, object]:
    settings = secret_settings(source)
    app_settings = get_settings()
    base = (settings.get("graph_base_url") or app_settings.meta_graph_base_url).rstrip("/")
    version = settings.get("graph_version") or app_settings.meta_graph_version
    async with httpx.AsyncClient(timeout=app_settings.outbound_timeout_seconds) as client:
        try:
            r = await client.get(
                f"{base}/{version}/{leadgen_id}",
                params={"access_token": settings["access_token"], "fields": GRAPH_FIELDS},
            )
        except httpx.HTTPError as exc:
            raise RetryLater(f"Graph API unreachable ({type(exc).__name__})") from None
    if r.status_code != 200:
        raise RetryLater(f"Graph API answered {r.status_code}")
    try:
        data = r.json()
    except ValueError:
        raise RetryLater("Graph API answered with invalid JSON") from None
    if not isinstance(data, dict):
        raise RetryLater("Graph API answered with a non-object")
    return data


@registry.register(META_RETRIEVE, schedule=SCHEDULE, max_attempts=len(SCHEDULE) + 1)
async def retrieve_meta_lead(session: AsyncSession, job: Job) -> None:
    lead = await session.get(
        Lead, uuid.UUID(job.payload["lead_id"]), with_for_update=True, populate_existing=True
    )
    if lead is None or lead.status != "pending_retrieval" or lead.erased_at is not None:
        return  # already retrieved (or erased): nothing left to do
    source = await session.get_one(Source, lead.source_id)
    graph = await fetch_graph_lead(source, job.payload["leadgen_id"])
    try:
        lead_in = lead_from_graph(graph, source.mapping)
    except (AdapterError, ValidationError) as exc:
        # Retrying cannot fix a lead that can't be mapped; the lead stays pending_retrieval.
        reason = exc.reason if isinstance(exc, AdapterError) else "graph lead fails validation"
        raise GiveUp(f"unmappable Graph lead: {reason}") from None
    await flow.ingest(
        session,
        lead.organization_id,
        lead_in,
        source=source,
        inbox_id=uuid.UUID(job.payload["inbox_id"]),
        received_at=lead.received_at,
        placeholder=lead,
        duplicate_window=None,
    )
