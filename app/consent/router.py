from __future__ import annotations

from fastapi import APIRouter, Request, status

from app.consent import grants, revocation
from app.consent.schemas import (
    GrantIn,
    GrantOut,
    RevocationIn,
    RevocationOut,
)
from app.db import SessionDep, utcnow
from app.deps import ConsentWriter
from app.idempotency import idempotent

router = APIRouter(tags=["consent"])


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
