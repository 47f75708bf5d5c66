from __future__ import annotations

import uuid

from fastapi import APIRouter, status
from fastapi.responses import JSONResponse

from app.audit import service as audit
from app.auth.deps import AttemptsWriter, LeadsReader
from app.db import SessionDep, utcnow
from app.errors import PROBLEM_JSON
from app.idempotency import idempotent
from app.leads.models import Lead
from app.outreach import service
from app.outreach.schemas import AttemptIn, AttemptList, AttemptOut
from app.tenancy import get_owned

router = APIRouter(tags=["contact attempts"])

_REFUSED = {
    422: {
        "description": "Refused by the contact policy: `type` ends in `calling-hours`, "
        "`no-consent`, `revoked` or `attempt-cap` (see `reasons` and `next_allowed_at`).",
        "content": {PROBLEM_JSON: {}},
    },
    409: {
        "description": "`external_id` reused with a different body.",
        "content": {PROBLEM_JSON: {}},
    },
}


@router.post(
    "/v1/leads/{lead_id}/contact-attempts",
    status_code=status.HTTP_201_CREATED,
    response_model=AttemptOut,
    responses=_REFUSED,  # type: ignore[arg-type]
)
@idempotent
async def create_attempt(
    lead_id: uuid.UUID, body: AttemptIn, caller: AttemptsWriter, session: SessionDep
) -> JSONResponse:
    """Record a call, text or email to (or from) the lead, as your dialer or agent made it.

    The contact policy is checked at `started_at` in the lead's local time: consent on the
    channel, revocations, calling hours and the 24-hour attempt caps. A refused attempt is
    not recorded. With the `admin` scope, `override_reason` records it anyway (audited).
    Retries with the same `external_id` and body answer the same (header
    `Idempotent-Replayed: true`). The first attempt sets the lead's speed to lead; outcome
    `do_not_contact_requested` revokes consent on every channel at once. Each attempt is
    sent as a `contact.attempted` event.
    """
    lead = await get_owned(session, Lead, lead_id, caller.org_id, for_update=True)
    now = utcnow()
    spec = service.AttemptSpec.from_api(body, now)
    attempt, created = await service.record_attempt(session, caller, lead, spec, now=now)
    headers = {} if created else {"Idempotent-Replayed": "true"}
    out = service.to_out(attempt).model_dump(mode="json")
    return JSONResponse(out, status_code=status.HTTP_201_CREATED, headers=headers)


@router.get("/v1/leads/{lead_id}/contact-attempts", response_model=AttemptList)
async def list_attempts(
    lead_id: uuid.UUID, caller: LeadsReader, session: SessionDep
) -> AttemptList:
    """The lead's contact attempts, oldest first (notes are kept encrypted and not listed)."""
    lead = await get_owned(session, Lead, lead_id, caller.org_id)
    rows = await service.list_attempts(session, caller.org_id, lead.id)
    audit.note(caller, None, ids=[str(a.id) for a in rows])
    return AttemptList(data=[service.to_out(a) for a in rows])
