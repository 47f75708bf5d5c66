"""Names of the organisation's own things (sources, services, locations, teams, members), for
pages that would otherwise show ids. Small tables: read whole, once per page."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog.models import Location, Service
from app.leads.models import Source
from app.routing.models import Member, Team


async def groups(session: AsyncSession, org_id: uuid.UUID) -> dict[str, dict[str, str]]:
    """{dimension: {key as the reports print it: name}}."""
    out: dict[str, dict[str, str]] = {}
    queries = {
        "source": select(Source.id, Source.name).where(Source.organization_id == org_id),
        "service": select(Service.code, Service.name).where(Service.organization_id == org_id),
        "location": select(Location.id, Location.name).where(Location.organization_id == org_id),
        "team": select(Team.id, Team.name).where(Team.organization_id == org_id),
        "member": select(Member.id, Member.display_name).where(Member.organization_id == org_id),
    }
    for dimension, stmt in queries.items():
        out[dimension] = {str(k): v for k, v in (await session.execute(stmt)).all()}
    return out
