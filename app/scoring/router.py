from __future__ import annotations

import uuid

from fastapi import APIRouter

from app.audit import service as audit
from app.auth.deps import LeadsWriter
from app.db import SessionDep
from app.errors import Conflict
from app.leads.models import Lead
from app.routing import reroute
from app.scoring import facts as lead_facts
from app.scoring.schemas import LeadFactsPatch, RescoreOut
from app.tenancy import get_owned

router = APIRouter(prefix="/v1/leads", tags=["leads"])


@router.patch("/{lead_id}/facts", response_model=RescoreOut)
async def update_facts(
    lead_id: uuid.UUID, body: LeadFactsPatch, caller: LeadsWriter, session: SessionDep
) -> RescoreOut:
    """Correct what a lead asked for (service, reason, urgency, timeframe, preferred
    location, language, insurance, new patient, date of birth, ZIP) and re-score it with
    the practice as it is now. The change is audited by field name; values are not."""
    lead = await get_owned(session, Lead, lead_id, caller.org_id, for_update=True)
    if lead.erased_at is not None or lead.pii is None:
        raise Conflict("This lead has no data to re-score (erased or not yet retrieved).")
    changes = body.model_dump(exclude_unset=True)
    lead_facts.apply_changes(lead, changes)
    # Re-scored, and routed again if its needs moved and nobody has reached the person yet.
    answer = await reroute.redecide(session, lead, "facts changed: " + ", ".join(sorted(changes)))
    await session.flush()
    fields = sorted(changes)
    await audit.record(session, caller, "lead.rescore", "lead", lead.id, {"fields": fields})
    return RescoreOut(
        lead_id=lead.id,
        status=lead.status,
        changed=fields,
        scoring_version=lead.scoring_version or "",
        **answer,
    )
