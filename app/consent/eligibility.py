"""The contact policy's answers: for one lead on one channel (asked before each dial), and for
a page of leads at once (the pull queue): which channels may be used now, with one query for
their consent events and one for their recent attempts."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import service as audit
from app.auth.service import Caller
from app.consent import service as consent_service
from app.consent.models import ConsentEvent
from app.consent.policy import (
    Channel,
    Direction,
    PastAttempt,
    Purpose,
    evaluate,
)
from app.consent.schemas import EligibilityOut, EligibilityReasonOut
from app.consent.service import (
    ATTEMPT_HISTORY,
    attempt_of,
    current_consent,
    unverified_for,
    where_lead_is,
)
from app.consent.standing import channel_consents, lifted_pairs, suppressed_for
from app.leads.models import Lead
from app.tenancy import scoped

# The columns of the outreach domain's table the policy reads (its documented contract).
_ATTEMPTS = text(
    "SELECT lead_id, attempted_at, channel, direction, purpose FROM contact_attempts"
    " WHERE organization_id = :org AND lead_id = ANY(:leads)"
    " AND attempted_at > :since AND attempted_at <= :now"
)


async def for_lead(
    session: AsyncSession,
    caller: Caller,
    lead: Lead,
    channel: Channel,
    now: dt.datetime,
    purpose: Purpose,
    direction: Direction,
) -> EligibilityOut:
    """May `lead` be contacted on `channel` at `now`: every rule broken, most decisive first."""
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
        reasons=[EligibilityReasonOut(**consent_service.reason_dict(v)) for v in decision.reasons],
        next_allowed_at=decision.next_allowed_at,
        applied=list(decision.applied),
        located_in=list(decision.located_in),
        time_zones=list(decision.time_zones),
        rules_version=decision.rules_version,
        consent_unverified=lead.consent_unverified,
        missing_evidence=list(decision.missing_evidence),
        basis=decision.basis,
    )


async def _events(
    session: AsyncSession, org_id: uuid.UUID, ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[ConsentEvent]]:
    stmt = (
        scoped(ConsentEvent, org_id)
        .where(ConsentEvent.lead_id.in_(ids))
        .order_by(ConsentEvent.captured_at, ConsentEvent.created_at, ConsentEvent.id)
    )
    out: dict[uuid.UUID, list[ConsentEvent]] = defaultdict(list)
    for event in (await session.execute(stmt)).scalars():
        if event.lead_id is not None:
            out[event.lead_id].append(event)
    return out


async def _attempts(
    session: AsyncSession, org_id: uuid.UUID, ids: list[uuid.UUID], now: dt.datetime
) -> dict[uuid.UUID, list[PastAttempt]]:
    params = {"org": org_id, "leads": ids, "since": now - ATTEMPT_HISTORY, "now": now}
    out: dict[uuid.UUID, list[PastAttempt]] = defaultdict(list)
    for lead_id, *row in await session.execute(_ATTEMPTS, params):
        attempt = attempt_of(*row)
        if attempt is not None:
            out[lead_id].append(attempt)
    return out


async def channels_now(
    session: AsyncSession,
    org_id: uuid.UUID,
    leads: Sequence[Lead],
    now: dt.datetime,
    purpose: Purpose = Purpose.SCHEDULING,
) -> dict[uuid.UUID, list[str]]:
    """Per lead, the channels the whole contact policy (consent, calling hours in every
    jurisdiction the lead may be in, attempt caps) allows for `purpose` at `now`."""
    candidates = [lead for lead in leads if lead.contact_channels]
    out: dict[uuid.UUID, list[str]] = {lead.id: [] for lead in leads}
    if not candidates:
        return out
    ids = [lead.id for lead in candidates]
    events = await _events(session, org_id, ids)
    attempts = await _attempts(session, org_id, ids, now)
    for lead in candidates:
        mine = events.get(lead.id, [])
        consents = channel_consents(current_consent(mine), purpose)
        if unverified_for(lead, purpose):
            consents = {ch: dataclasses.replace(c, unverified=True) for ch, c in consents.items()}
        blocked = suppressed_for(lead.do_not_contact or (), purpose, lifted_pairs(mine))
        where = where_lead_is(lead)
        for name in lead.contact_channels:
            decision = evaluate(
                where,
                Channel(name),
                now,
                direction=Direction.OUTBOUND,
                consent=consents,
                suppressed=blocked,
                past_attempts=attempts.get(lead.id, ()),
                purpose=purpose,
            )
            if decision.allowed:
                out[lead.id].append(name)
    return out
