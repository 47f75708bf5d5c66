"""Consent evidence, revocation and the suppression list.

Events are inserted, never changed; "current consent" is derived from them on read. The
contact policy applied to stored leads lives in `app.consent.eligibility`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    text,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import service as audit
from app.auth.scopes import Scope
from app.auth.service import Caller
from app.config import get_settings
from app.consent import queries
from app.consent.models import CHANNELS, ConsentEvent, Suppression
from app.consent.policy import (
    Channel,
    ChannelConsent,
    Direction,
    PastAttempt,
    PolicyDecision,
    PolicyLead,
    Purpose,
    Rule,
    Violation,
    evaluate,
)
from app.consent.standing import (
    Lifted,
    channel_consents,
    lifted_pairs,
    suppressed_for,
    usable_channels,
)
from app.crypto import cipher
from app.db import utcnow
from app.errors import AppError, Forbidden
from app.leads.identity import Identity, decrypt_pii, postal_code
from app.leads.models import Lead
from app.tenancy import scoped

# TSR 16 CFR 310.5(a)(8) asks for 5 years; 5 * 366 days covers the leap days.
RETENTION = dt.timedelta(days=5 * 366)
# How far back the policy looks at attempts: the longest window any rule counts in.
ATTEMPT_HISTORY = dt.timedelta(days=7)


@dataclass(frozen=True)
class EventSpec:
    """One decision, recorded once per channel and purpose."""

    decision: str
    channels: tuple[str, ...]
    purposes: tuple[str, ...]
    origin: str
    captured_at: dt.datetime
    disclosure_id: uuid.UUID | None = None
    seller: str | None = None
    form_id: str | None = None
    method: str | None = None
    via: str | None = None
    keyword: str | None = None
    source_id: uuid.UUID | None = None
    actor_key_id: uuid.UUID | None = None
    details: dict[str, Any] = field(default_factory=dict)
    # What the evidence lacks (app.consent.levels); None where not a grant's evidence.
    missing: tuple[str, ...] | None = None


def evidence_context(event_id: uuid.UUID) -> str:
    return f"consent-evidence:{event_id}"


def open_evidence(event: ConsentEvent) -> dict[str, Any]:
    return dict(json.loads(cipher().decrypt(event.evidence, evidence_context(event.id))))


async def record_events(
    session: AsyncSession,
    org_id: uuid.UUID,
    lead_id: uuid.UUID | None,
    who: Identity,
    spec: EventSpec,
) -> list[uuid.UUID]:
    now = utcnow()
    sealed = {"phone": who.phone, "email": who.email, **spec.details}
    sealed = {k: v for k, v in sealed.items() if v is not None}
    rows: list[dict[str, Any]] = []
    for channel in spec.channels:
        for purpose in spec.purposes:
            event_id = uuid.uuid4()
            rows.append(
                {
                    "id": event_id,
                    "organization_id": org_id,
                    "lead_id": lead_id,
                    "phone_hash": who.phone_hash,
                    "email_hash": who.email_hash,
                    "channel": channel,
                    "purpose": purpose,
                    "decision": spec.decision,
                    "disclosure_id": spec.disclosure_id,
                    "seller": spec.seller,
                    "form_id": spec.form_id,
                    "method": spec.method,
                    "origin": spec.origin,
                    "via": spec.via,
                    "keyword": spec.keyword,
                    "source_id": spec.source_id,
                    "actor_key_id": spec.actor_key_id,
                    "evidence": cipher().encrypt(
                        json.dumps(sealed, separators=(",", ":")), evidence_context(event_id)
                    ),
                    "captured_at": spec.captured_at,
                    "retain_until": spec.captured_at + RETENTION,
                    "created_at": now,
                    "missing": list(spec.missing) if spec.missing is not None else None,
                }
            )
    await queries.insert_events(session, rows)
    return [r["id"] for r in rows]


# --- current consent -----------------------------------------------------------------------


async def lead_events(session: AsyncSession, lead: Lead) -> list[ConsentEvent]:
    stmt = (
        scoped(ConsentEvent, lead.organization_id)
        .where(ConsentEvent.lead_id == lead.id)
        .order_by(ConsentEvent.captured_at, ConsentEvent.created_at, ConsentEvent.id)
    )
    return list((await session.execute(stmt)).scalars())


async def summaries(
    session: AsyncSession, org_id: uuid.UUID, leads: Sequence[Lead]
) -> dict[uuid.UUID, dict[str, Any]]:
    """`summary` for many leads with one query (a page of the queue)."""
    if not leads:
        return {}
    stmt = (
        scoped(ConsentEvent, org_id)
        .where(ConsentEvent.lead_id.in_([lead.id for lead in leads]))
        .order_by(ConsentEvent.captured_at, ConsentEvent.created_at, ConsentEvent.id)
    )
    by_lead: dict[uuid.UUID, list[ConsentEvent]] = {lead.id: [] for lead in leads}
    for event in (await session.execute(stmt)).scalars():
        if event.lead_id is not None:
            by_lead[event.lead_id].append(event)
    return {
        lead.id: summary(
            current_consent(by_lead[lead.id]),
            lead.do_not_contact or [],
            lifted_pairs(by_lead[lead.id]),
        )
        for lead in leads
    }


def current_consent(events: Sequence[ConsentEvent]) -> dict[str, dict[str, ConsentEvent]]:
    """Latest decision per channel and purpose; a revocation stands until a newer grant."""
    current: dict[str, dict[str, ConsentEvent]] = {}
    for event in sorted(events, key=lambda e: (e.captured_at, e.decision == "revoked")):
        per = current.setdefault(event.channel, {})
        held = per.get(event.purpose)
        if held is not None and held.decision == "revoked" and event.decision != "granted":
            continue
        per[event.purpose] = event
    return current


def summary(
    current: dict[str, dict[str, ConsentEvent]],
    dnc: Sequence[str],
    lifted: Lifted = frozenset(),
) -> dict[str, Any]:
    """Per channel: suppressed (unless an explicit grant lifted it for some purpose), else
    the most permissive decision among purposes."""
    channels: dict[str, str] = {}
    for channel in CHANNELS:
        per = current.get(channel, {})
        decisions = {e.decision for e in per.values()}
        if channel in dnc and not any(c == channel for c, _ in lifted):
            channels[channel] = "suppressed"
            continue
        order = ("granted", "revoked", "denied", "incomplete")
        channels[channel] = next((d for d in order if d in decisions), "none")
    granted = any(s == "granted" for s in channels.values())
    return {
        "status": "granted" if granted else "none",
        "channels": channels,
        "do_not_contact": sorted(dnc),
    }


async def refresh_contact_channels(
    session: AsyncSession, lead: Lead, events: Sequence[ConsentEvent] | None = None
) -> list[str]:
    """Keep `leads.contact_channels` (what the pull queue and the SLA sweep filter on) in
    step with the evidence: called in the transaction of every consent change."""
    if events is None:
        events = await lead_events(session, lead)
    unverified = get_settings().unverified_consent_purposes if lead.consent_unverified else ()
    usable = usable_channels(
        current_consent(events),
        lead.do_not_contact or (),
        lifted_pairs(events),
        unverified,
        emergency=bool(lead.emergency),
    )
    if list(lead.contact_channels or ()) != usable:
        lead.contact_channels = usable
    return usable


# --- suppression ---------------------------------------------------------------------------


def mark_do_not_contact(lead: Lead, channels: Iterable[str]) -> None:
    merged = sorted(set(lead.do_not_contact or ()) | set(channels))
    if merged != sorted(lead.do_not_contact or ()):
        lead.do_not_contact = merged


async def suppress(
    session: AsyncSession,
    org_id: uuid.UUID,
    kind: str,
    value_hash: str,
    channels: Sequence[str],
    via: str | None,
) -> None:
    """Upsert one suppression row; its channels only ever grow."""
    stmt = pg_insert(Suppression).values(
        id=uuid.uuid4(),
        organization_id=org_id,
        kind=kind,
        value_hash=value_hash,
        channels=sorted(set(channels)),
        via=via,
        updated_at=utcnow(),
    )
    merged = text(
        "ARRAY(SELECT DISTINCT c FROM unnest(suppressions.channels || excluded.channels) AS c"
        " ORDER BY c)"
    )
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=["organization_id", "kind", "value_hash"],
            set_={"channels": merged, "updated_at": stmt.excluded.updated_at},
        )
    )


# --- the contact policy on stored leads ----------------------------------------------------


class ContactRefused(AppError):
    """422 whose `type` is the decisive rule: calling-hours, no-consent, revoked, attempt-cap."""

    status, title = 422, "Contact not allowed"

    def __init__(self, decision: PolicyDecision) -> None:
        rule = decision.problem_type or Rule.NO_CONSENT
        super().__init__(
            "; ".join(v.message for v in decision.reasons),
            type=rule.value,
            extra={
                "rule": rule.value,
                "reasons": [reason_dict(v) for v in decision.reasons],
                "next_allowed_at": (
                    decision.next_allowed_at.isoformat() if decision.next_allowed_at else None
                ),
                "rules_version": decision.rules_version,
                "missing_evidence": list(decision.missing_evidence),
            },
        )


def reason_dict(violation: Violation) -> dict[str, str]:
    return {
        "rule": violation.rule.value,
        "jurisdiction": violation.jurisdiction,
        "message": violation.message,
        "source": violation.source,
    }


def unverified_for(lead: Lead, purpose: Purpose) -> bool:
    """A lead whose consent certificate did not verify has no written consent for the
    purposes the settings name (marketing by default)."""
    return lead.consent_unverified and purpose.value in get_settings().unverified_consent_purposes


def _with_verification(
    consents: dict[Channel, ChannelConsent], lead: Lead, purpose: Purpose
) -> dict[Channel, ChannelConsent]:
    if not unverified_for(lead, purpose):
        return consents
    return {ch: dataclasses.replace(c, unverified=True) for ch, c in consents.items()}


def where_lead_is(lead: Lead) -> PolicyLead:
    """The lead's place for the contact policy: its ZIP and number, both kept encrypted."""
    pii = decrypt_pii(lead)
    return PolicyLead.from_contact(postal_code(lead, pii), Identity.of_lead(lead, pii).phone)


async def check_policy(
    session: AsyncSession,
    lead: Lead,
    channel: Channel,
    direction: Direction,
    now: dt.datetime,
    past_attempts: Sequence[PastAttempt],
    *,
    purpose: Purpose = Purpose.SCHEDULING,
) -> PolicyDecision:
    """May we contact this stored lead now? Consent from events, location from ZIP and phone,
    suppression from the lead's do-not-contact channels and the suppression list."""
    blocked = await queries.suppressed_channels(
        session,
        lead.organization_id,
        {"phone": [lead.phone_hash] if lead.phone_hash else [],
         "email": [lead.email_hash] if lead.email_hash else []},
    )  # fmt: skip
    names = set(blocked) | set(lead.do_not_contact or ())
    events = await lead_events(session, lead)
    return evaluate(
        where_lead_is(lead),
        channel,
        now,
        direction=direction,
        consent=_with_verification(
            channel_consents(current_consent(events), purpose), lead, purpose
        ),
        suppressed=suppressed_for(names, purpose, lifted_pairs(events)),
        past_attempts=past_attempts,
        purpose=purpose,
    )


async def enforce_policy(
    session: AsyncSession,
    caller: Caller,
    lead: Lead,
    channel: Channel,
    direction: Direction,
    now: dt.datetime,
    past_attempts: Sequence[PastAttempt],
    *,
    purpose: Purpose = Purpose.SCHEDULING,
    override_reason: str | None = None,
) -> PolicyDecision:
    """`check_policy`, raising ContactRefused (422) when it refuses.

    An `override_reason` from an `admin` key lets the contact through and is audited (rules
    and channel only: the reason itself may name the patient, so the caller stores it).
    """
    decision = await check_policy(
        session, lead, channel, direction, now, past_attempts, purpose=purpose
    )
    if decision.allowed:
        return decision
    if override_reason is None or not override_reason.strip():
        raise ContactRefused(decision)
    if not caller.has(Scope.ADMIN):
        raise Forbidden("Overriding the contact policy needs the `admin` scope.")
    await audit.record(
        session,
        caller,
        "contact.policy_override",
        "lead",
        lead.id,
        {
            "channel": channel.value,
            "purpose": purpose.value,
            "rules": sorted({v.rule.value for v in decision.reasons}),
            "rules_version": decision.rules_version,
        },
    )
    return decision


_ATTEMPT_COLUMNS = text(
    "SELECT column_name FROM information_schema.columns"
    " WHERE table_schema = current_schema() AND table_name = 'contact_attempts'"
)


async def load_past_attempts(
    session: AsyncSession, lead: Lead, now: dt.datetime
) -> tuple[PastAttempt, ...]:
    """This lead's attempts in the ATTEMPT_HISTORY before `now`, from the outreach domain's
    table.

    `contact_attempts` belongs to another domain and may not exist yet; this reads its
    contract columns (lead_id, channel, attempted_at; direction and purpose if present)
    so the eligibility answer is right before and after that table lands.
    """
    columns = set((await session.execute(_ATTEMPT_COLUMNS)).scalars())
    if not {"organization_id", "lead_id", "channel", "attempted_at"} <= columns:
        return ()
    direction = "direction" if "direction" in columns else "'outbound'"
    purpose = "purpose" if "purpose" in columns else "NULL"
    stmt = text(
        f"SELECT attempted_at, channel, {direction}, {purpose} FROM contact_attempts"  # noqa: S608
        " WHERE organization_id = :org AND lead_id = :lead"
        " AND attempted_at > :since AND attempted_at <= :now"
    )
    rows = await session.execute(
        stmt,
        {"org": lead.organization_id, "lead": lead.id, "since": now - ATTEMPT_HISTORY, "now": now},
    )
    return tuple(a for row in rows if (a := attempt_of(*row)) is not None)


def attempt_of(
    at: dt.datetime, channel: str, direction: str, purpose: str | None
) -> PastAttempt | None:
    try:
        return PastAttempt(
            at=at,
            channel=Channel(channel),
            direction=Direction(direction),
            purpose=Purpose(purpose) if purpose else Purpose.MARKETING,
        )
    except ValueError:
        return None  # a channel or code the policy does not know cannot count against a cap
