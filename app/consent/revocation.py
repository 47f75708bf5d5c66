"""Revocations: recorded as consent events and honoured in the same transaction.

The lead's do-not-contact channels change now (every outreach queue reads them), and the
suppression list keeps the number and address blocked after the lead itself is erased.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import or_
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import service as audit
from app.auth.service import Caller
from app.consent.keywords import parse_revocation
from app.consent.models import CHANNELS, PURPOSES
from app.consent.schemas import RevocationIn, RevocationOut
from app.consent.service import (
    EventSpec,
    mark_do_not_contact,
    record_events,
    refresh_contact_channels,
    suppress,
)
from app.db import utcnow
from app.errors import Unprocessable
from app.leads.identity import Identity
from app.leads.models import Lead
from app.outbox import service as outbox
from app.tenancy import get_owned, scoped

# Calls and texts: the channels the TCPA's revoke-all rule speaks of.
TCPA_CHANNELS = ("voice", "sms")


def scope(
    body: RevocationIn, revoke_all: bool
) -> tuple[tuple[str, ...], tuple[str, ...], str | None]:
    """(channels, purposes, keyword) a revocation covers. Under the revoke-all rule
    (`revoke_all_scope`, 47 CFR 64.1200(a)(10)) an opt-out of calls or texts for one purpose
    covers every purpose, calls and texts alike; before it, what it names."""
    channels, keyword = revoked_channels(body)
    purposes = PURPOSES if body.purpose == "all" else (body.purpose,)
    if revoke_all and set(channels) & set(TCPA_CHANNELS):
        widened = set(channels) | set(TCPA_CHANNELS)
        channels, purposes = tuple(c for c in CHANNELS if c in widened), PURPOSES
    return channels, purposes, keyword


def revoked_channels(body: RevocationIn) -> tuple[tuple[str, ...], str | None]:
    """Channels named by the request, widened by an SMS opt-out keyword in `words`."""
    match = parse_revocation(body.words) if body.words else None
    channels: set[str] = set()
    if body.channel == "all":
        channels.update(CHANNELS)
    elif body.channel is not None:
        channels.add(body.channel)
    # A keyword decides the scope of an SMS reply; said on a call it only fills a gap.
    if match is not None and (body.via == "sms_reply" or not channels):
        channels.update(c.value for c in match.channels)
    if not channels:
        raise Unprocessable(
            "`words` is not an opt-out keyword; say which `channel` is revoked.",
            type="revocation-channel-required",
        )
    return tuple(c for c in CHANNELS if c in channels), match.keyword if match else None


async def _targets(
    session: AsyncSession, org_id: uuid.UUID, body: RevocationIn, given: Identity
) -> list[Lead]:
    """The caller's leads the revocation names, locked: by id (404 if not theirs) or by hash."""
    leads: dict[uuid.UUID, Lead] = {}
    if body.lead_id is not None:
        lead = await get_owned(session, Lead, body.lead_id, org_id, for_update=True)
        leads[lead.id] = lead
    conds = []
    if given.phone_hash:
        conds.append(Lead.phone_hash == given.phone_hash)
    if given.email_hash:
        conds.append(Lead.email_hash == given.email_hash)
    if conds:
        stmt = scoped(Lead, org_id).where(or_(*conds)).order_by(Lead.id).with_for_update()
        stmt = stmt.execution_options(populate_existing=True)
        for lead in (await session.execute(stmt)).scalars():
            leads.setdefault(lead.id, lead)
    return list(leads.values())


async def revoke(
    session: AsyncSession,
    caller: Caller,
    body: RevocationIn,
    now: dt.datetime | None = None,
    *,
    revoke_all: bool = False,
) -> RevocationOut:
    """Record a revocation and honour it in this transaction: events, do-not-contact, suppression.

    Every identifier involved (the one given, and each matched lead's phone and email) is
    suppressed for the revoked channels, so a later lead with any of them arrives blocked.
    """
    now = now or utcnow()
    channels, purposes, keyword = scope(body, revoke_all)
    given = Identity.parse(body.phone, body.email)
    if body.lead_id is None and not (given.phone or given.email):
        raise Unprocessable("The phone number or email address is not valid.")
    leads = await _targets(session, caller.org_id, body, given)
    spec = EventSpec(
        decision="revoked",
        channels=channels,
        purposes=purposes,
        origin="revocation",
        captured_at=now,
        via=body.via,
        keyword=keyword,
        actor_key_id=caller.key_id,
        details={"words": body.words},
    )
    hashes: set[tuple[str, str]] = set()
    for lead in leads:
        hashes.update(await _honour(session, caller, lead, spec))
    if not leads:
        # Nobody on file yet: the revocation is still evidence, and the suppression still holds.
        await record_events(session, caller.org_id, None, given, spec)
        await audit.record(session, caller, "consent.revoke", "suppression", None, _facts(spec))
    hashes.update(_identity_hashes(given))
    for kind, value_hash in sorted(hashes):
        await suppress(session, caller.org_id, kind, value_hash, channels, body.via)
    await session.flush()
    return RevocationOut(
        channels=list(channels),
        purposes=list(purposes),
        keyword=keyword,
        via=body.via,
        lead_ids=[lead.id for lead in leads],
        suppressed=sorted({kind for kind, _ in hashes}),
        recorded_at=now,
    )


async def _honour(
    session: AsyncSession, caller: Caller, lead: Lead, spec: EventSpec
) -> set[tuple[str, str]]:
    """Revoke on one lead now; returns its identifiers for the suppression list."""
    who = Identity.of_lead(lead)
    await record_events(session, caller.org_id, lead.id, who, spec)
    mark_do_not_contact(lead, spec.channels)
    # In this transaction, the lead leaves the pull queue and the SLA sweep if nothing
    # usable is left (app.handoff.queue, app.outreach.sla).
    await refresh_contact_channels(session, lead)
    await audit.record(session, caller, "consent.revoke", "lead", lead.id, _facts(spec))
    await outbox.emit(
        session,
        caller.org_id,
        "consent.revoked",
        {"channels": list(spec.channels), "purposes": list(spec.purposes), "via": spec.via},
        lead_id=lead.id,
        at=spec.captured_at,
    )
    return _identity_hashes(who)


def _identity_hashes(who: Identity) -> set[tuple[str, str]]:
    found = {("phone", who.phone_hash), ("email", who.email_hash)}
    return {(kind, h) for kind, h in found if h}


def _facts(spec: EventSpec) -> dict[str, Any]:
    return {
        "channels": list(spec.channels),
        "purposes": list(spec.purposes),
        "via": spec.via,
        "keyword": spec.keyword,
    }
