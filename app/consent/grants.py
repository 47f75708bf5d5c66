"""Explicit grants: the one way a revocation or a suppression is lifted.

A person who opted out may consent again. `POST /v1/consent/grants` records that consent,
with its evidence, as a new append-only event (origin `grant`). Written consent's evidence
must be complete (app.consent.levels) and captured after the revocation it answers: then
it lifts the block for exactly that channel and purpose on that lead (app.consent.standing)
and the lead comes back to the queue. The suppression row itself stays: no endpoint deletes
one, and a later revocation blocks the channel again.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, or_
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import service as audit
from app.auth.models import Organization
from app.auth.service import Caller
from app.consent import levels
from app.consent.evidence import disclosure_id
from app.consent.models import ConsentEvent
from app.consent.queries import suppressed_channels
from app.consent.schemas import GrantIn, GrantOut
from app.consent.service import (
    EventSpec,
    lead_events,
    record_events,
    refresh_contact_channels,
)
from app.consent.standing import GRANT_ORIGIN
from app.db import utcnow
from app.errors import Unprocessable
from app.leads import status as lead_status
from app.leads.identity import Identity
from app.leads.models import Lead
from app.outbox import service as outbox
from app.tenancy import get_owned, scoped

# Clocks of capturing systems drift; beyond this a consent "from the future" is a mistake.
CLOCK_SKEW = dt.timedelta(minutes=5)


async def _last_revocation(
    session: AsyncSession, lead: Lead, who: Identity, body: GrantIn
) -> dt.datetime | None:
    """The latest revocation of this channel and purpose for the lead, its number or its
    address (a revocation by phone may have been recorded before this lead existed)."""
    same = [ConsentEvent.lead_id == lead.id]
    if who.phone_hash:
        same.append(ConsentEvent.phone_hash == who.phone_hash)
    if who.email_hash:
        same.append(ConsentEvent.email_hash == who.email_hash)
    stmt = (
        scoped(ConsentEvent, lead.organization_id)
        .with_only_columns(func.max(ConsentEvent.captured_at))
        .where(
            or_(*same),
            ConsentEvent.decision == "revoked",
            ConsentEvent.channel == body.channel,
            ConsentEvent.purpose == body.purpose,
        )
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def _blocked(session: AsyncSession, lead: Lead, channel: str) -> bool:
    if channel in (lead.do_not_contact or ()):
        return True
    hashes = {
        "phone": [lead.phone_hash] if lead.phone_hash else [],
        "email": [lead.email_hash] if lead.email_hash else [],
    }
    return channel in await suppressed_channels(session, lead.organization_id, hashes)


async def grant(session: AsyncSession, caller: Caller, body: GrantIn) -> GrantOut:
    """Record the grant and honour it in this transaction (see the module docstring)."""
    now = utcnow()
    lead = await get_owned(session, Lead, body.lead_id, caller.org_id, for_update=True)
    lead_status.refuse_if_erased(lead)
    if body.captured_at > now + CLOCK_SKEW:
        raise Unprocessable("`captured_at` is in the future.", type="grant-in-future")
    who = Identity.of_lead(lead)
    if (body.channel == "email" and not who.email) or (body.channel != "email" and not who.phone):
        raise Unprocessable(
            f"The lead has no usable {'address' if body.channel == 'email' else 'number'}"
            f" for {body.channel}.",
            type="grant-without-contact",
        )
    revoked_at = await _last_revocation(session, lead, who, body)
    if revoked_at is not None and body.captured_at <= revoked_at:
        raise Unprocessable(
            "The consent was captured before the revocation it would lift; a grant must be "
            "given after it.",
            type="grant-predates-revocation",
        )
    seller = body.seller or (await session.get_one(Organization, caller.org_id)).name
    details = {
        "ip": body.ip,
        "user_agent": body.user_agent,
        "page_url": body.page_url,
        "certificate_url": body.certificate_url,
        "leadid_token": body.leadid_token,
        "evidence_ref": body.evidence_ref,
        "captured_by": body.captured_by,
    }
    missing = levels.missing_evidence(
        disclosure=body.disclosure_text, seller=seller, captured_at=body.captured_at,
        details=details,
    )  # fmt: skip
    if missing:
        raise Unprocessable(
            "A grant is written consent and needs all of its evidence; missing: "
            + ", ".join(missing),
            type="consent-evidence-incomplete",
            extra={"missing_evidence": list(missing)},
        )
    was_blocked = revoked_at is not None or await _blocked(session, lead, body.channel)
    spec = EventSpec(
        decision="granted",
        channels=(body.channel,),
        purposes=(body.purpose,),
        origin=GRANT_ORIGIN,
        captured_at=body.captured_at,
        disclosure_id=await disclosure_id(session, caller.org_id, body.disclosure_text),
        seller=seller,
        method=body.method,
        actor_key_id=caller.key_id,
        details=details,
        missing=(),
    )
    [event_id] = await record_events(session, caller.org_id, lead.id, who, spec)
    usable = await refresh_contact_channels(session, lead, await lead_events(session, lead))
    facts = {"channel": body.channel, "purpose": body.purpose, "lifted": was_blocked,
             "event_id": str(event_id), "method": body.method}  # fmt: skip
    await audit.record(session, caller, "consent.grant", "lead", lead.id, facts)
    await outbox.emit(
        session,
        caller.org_id,
        "consent.granted",
        {"channel": body.channel, "purpose": body.purpose, "lifted": was_blocked},
        lead_id=lead.id,
        at=now,
    )
    await session.flush()
    return GrantOut(
        event_id=event_id,
        lead_id=lead.id,
        channel=body.channel,
        purpose=body.purpose,
        decision="granted",
        captured_at=body.captured_at,
        recorded_at=now,
        lifted=was_blocked,
        contact_channels=usable,
    )
