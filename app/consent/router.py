from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, status
from fastapi.responses import JSONResponse

from app.audit import service as audit
from app.auth.deps import CallerDep, ConsentWriter, LeadsReader
from app.auth.models import Organization
from app.auth.scopes import Scope
from app.auth.service import Caller
from app.consent import evidence, fhir, grants, revocation
from app.consent import service as consent_service
from app.consent.policy import Channel, Direction, Purpose
from app.consent.schemas import (
    ConsentView,
    EligibilityOut,
    GrantIn,
    GrantOut,
    ReasonOut,
    RevocationIn,
    RevocationOut,
)
from app.db import SessionDep, utcnow
from app.errors import Forbidden
from app.fields import Instant
from app.idempotency import idempotent
from app.leads.models import Lead
from app.tenancy import get_owned

router = APIRouter(tags=["consent"])


async def _dialer(caller: CallerDep) -> Caller:
    if not (caller.has(Scope.LEADS_READ) or caller.has(Scope.ATTEMPTS_WRITE)):
        raise Forbidden("This API key needs the `leads:read` or `attempts:write` scope.")
    return caller


@router.post(
    "/v1/consent/revocations", status_code=status.HTTP_201_CREATED, response_model=RevocationOut
)
@idempotent
async def create_revocation(
    body: RevocationIn, caller: ConsentWriter, session: SessionDep, request: Request
) -> RevocationOut:
    """Record that a person revoked consent, and honour it before this request returns.

    Name the person by `lead_id`, `phone` or `email` (every lead of yours with that number
    or address is covered), the `channel` (`voice`, `sms`, `email` or `all`) and how the
    revocation came (`via`). An inbound SMS reply that is an opt-out keyword (STOP,
    STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT, REVOKE, OPT OUT, any case) can be sent as
    `words` with `via=sms_reply` and no channel: STOP revokes SMS, STOPALL every channel.
    The leads are marked do-not-contact on those channels at once, and the number and
    address go on the suppression list, which outlives the leads. `purpose` defaults to
    `all`; under the revoke-all rule (setting `revoke_all_scope`, from 31 January 2027 by
    default) an opt-out of calls or texts for one purpose covers every purpose, calls and
    texts alike.
    """
    now = utcnow()
    settings = request.app.state.settings
    return await revocation.revoke(session, caller, body, now, revoke_all=settings.revoke_all(now))


@router.post("/v1/consent/grants", status_code=status.HTTP_201_CREATED, response_model=GrantOut)
@idempotent
async def create_grant(body: GrantIn, caller: ConsentWriter, session: SessionDep) -> GrantOut:
    """Record a new, explicit consent a person gave after revoking: the one way to lift a
    revocation or a suppression, for exactly that `channel` and `purpose` on that lead.

    It is written consent, so its evidence must be complete: the `disclosure_text` agreed
    to, the seller (default: your organisation), `captured_at` (after the revocation; 422
    `grant-predates-revocation` otherwise) and where it happened (`ip`, `user_agent`,
    `page_url`, a TrustedForm `certificate_url` or Jornaya `leadid_token`, or, for a signed
    form or a recorded call, `evidence_ref`); 422 `consent-evidence-incomplete` names what
    is missing. Recorded append-only and audited; the lead comes back to the pull queue.
    A later revocation blocks the channel again; the suppression list keeps its entry.
    """
    return await grants.grant(session, caller, body)


@router.get(
    "/v1/leads/{lead_id}/consent",
    response_model=ConsentView,
    responses={200: {"content": {fhir.FHIR_JSON: {}}}},
)
async def get_consent(
    lead_id: uuid.UUID,
    caller: LeadsReader,
    session: SessionDep,
    format: Annotated[
        Literal["json", "fhir"], Query(description="`fhir`: an R4 Bundle of Consent.")
    ] = "json",
) -> ConsentView | JSONResponse:
    """The lead's consent events (append-only evidence, with the disclosure text exactly as
    shown) and the consent currently in force per channel and purpose. Every read is audited.
    """
    view = await evidence.consent_view(session, caller, lead_id, format=format)
    if format == "json":
        return view
    org = await session.get_one(Organization, caller.org_id)
    body = fhir.bundle(view, org.id, org.name, utcnow())
    return JSONResponse(body, media_type=fhir.FHIR_JSON)


@router.get("/v1/leads/{lead_id}/contact-eligibility", response_model=EligibilityOut)
async def contact_eligibility(
    lead_id: uuid.UUID,
    channel: Channel,
    caller: Annotated[Caller, Depends(_dialer)],
    session: SessionDep,
    at: Annotated[Instant | None, Query(description="Default: now.")] = None,
    purpose: Purpose = Purpose.SCHEDULING,
    direction: Direction = Direction.OUTBOUND,
) -> EligibilityOut:
    """May this lead be contacted on `channel` now (or `at`)? Ask before every dial or text.

    Checks consent on the channel for the `purpose`, revocations and the suppression list,
    the calling hours of every jurisdiction the ZIP and the phone's area code point to (the
    stricter wins) and the 24-hour attempt caps. When refused, `reasons` lists every rule
    broken, most decisive first, and `next_allowed_at` says when waiting helps (null: it
    will not, e.g. no consent).
    """
    lead = await get_owned(session, Lead, lead_id, caller.org_id)
    now = at or utcnow()
    past = await consent_service.load_past_attempts(session, lead, now)
    decision = await consent_service.check_policy(
        session, lead, channel, direction, now, past, purpose=purpose
    )
    audit.note(
        caller,
        None,
        channel=channel.value,
        purpose=purpose.value,
        allowed=decision.allowed,
        rules_version=decision.rules_version,
    )
    return EligibilityOut(
        lead_id=lead.id,
        allowed=decision.allowed,
        channel=channel.value,
        purpose=purpose.value,
        direction=direction.value,
        at=now,
        reasons=[ReasonOut(**consent_service.reason_dict(v)) for v in decision.reasons],
        next_allowed_at=decision.next_allowed_at,
        applied=list(decision.applied),
        located_in=list(decision.located_in),
        time_zones=list(decision.time_zones),
        rules_version=decision.rules_version,
        consent_unverified=lead.consent_unverified,
        missing_evidence=list(decision.missing_evidence),
        basis=decision.basis,
    )
