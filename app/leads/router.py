from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from app.auth.deps import LeadsReader
from app.db import SessionDep
from app.fields import Instant
from app.leads import service as leads_service
from app.leads.schemas import LeadList, LeadOut

router = APIRouter(prefix="/v1/leads", tags=["leads"])


@router.get("", response_model=LeadList)
async def list_leads(
    caller: LeadsReader,
    session: SessionDep,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    source_id: uuid.UUID | None = None,
    status: str | None = None,
    service: Annotated[str | None, Query(description="Matched service code.")] = None,
    location_id: uuid.UUID | None = None,
    received_from: Instant | None = None,
    received_to: Instant | None = None,
) -> LeadList:
    """Leads, newest first, without contact details. Reading the list is audited."""
    return await leads_service.list_leads(
        session,
        caller,
        limit=limit,
        cursor=cursor,
        filters={
            "source_id": source_id,
            "status": status,
            "service_code": service,
            "location_id": location_id,
            "received_from": received_from,
            "received_to": received_to,
        },
    )


@router.get("/{lead_id}", response_model=LeadOut)
async def get_lead(lead_id: uuid.UUID, caller: LeadsReader, session: SessionDep) -> LeadOut:
    """One lead with its contact details, submissions, assessment and routing trace.
    Every read is audited."""
    return await leads_service.get_lead(session, caller, lead_id)
