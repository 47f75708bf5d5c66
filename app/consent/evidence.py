"""Consent evidence: disclosures stored once and byte-exact, capture at intake, the read view.

The disclosure is not PHI and is kept as the submitted UTF-8 bytes (not encrypted), so that
its SHA-256 proves it is the wording the person saw (TSR: "in the same manner and format").
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import service as audit
from app.auth.service import Caller
from app.consent import levels
from app.consent.models import CHANNELS, ConsentDisclosure, ConsentEvent
from app.consent.queries import suppressed_channels
from app.consent.schemas import (
    ConsentView,
    CurrentConsent,
    DisclosureOut,
    EventOut,
    FormConsent,
    LiftedOut,
    VerificationOut,
)
from app.consent.service import (
    EventSpec,
    current_consent,
    lead_events,
    mark_do_not_contact,
    open_evidence,
    record_events,
    refresh_contact_channels,
    summary,
)
from app.consent.standing import channel_consent, lifted_pairs, usable_channels
from app.leads.canonical import CanonicalLead
from app.leads.identity import Identity
from app.leads.models import Lead, Source
from app.lru import LRU
from app.tenancy import get_owned, scoped

_known_disclosures: LRU[tuple[uuid.UUID, str], uuid.UUID] = LRU(4096)
_OWN_DISCLOSURES = "consent_disclosures_inserted"


def disclosure_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


async def disclosure_id(
    session: AsyncSession,
    org_id: uuid.UUID,
    text: str,
    *,
    source_id: uuid.UUID | None = None,
    form_id: str | None = None,
    version: str | None = None,
) -> uuid.UUID:
    """The id of the disclosure row for this exact wording, created on first sight (once per
    hash) and remembered in the process once the row is seen committed.

    Most leads of a form carry the same wording. A disclosure row never changes and is never
    deleted (events refer to it), so a remembered id stays true; rows this session inserted
    are not remembered, since their transaction may still roll back.
    """
    digest = disclosure_hash(text)
    key = (org_id, digest)
    known = _known_disclosures.get(key)
    if known is not None:
        return known
    own: set[str] = session.info.setdefault(_OWN_DISCLOSURES, set())
    found = await _disclosure_by_hash(session, org_id, digest)
    if found is None:
        own.add(digest)
        found = await _insert_disclosure(session, org_id, text, digest, source_id, form_id, version)
    elif digest not in own:
        _known_disclosures.put(key, found.id)
    return found.id


async def _insert_disclosure(
    session: AsyncSession,
    org_id: uuid.UUID,
    text: str,
    digest: str,
    source_id: uuid.UUID | None,
    form_id: str | None,
    version: str | None,
) -> ConsentDisclosure:
    label = version or await _next_version(session, org_id, source_id, form_id)
    await session.execute(
        pg_insert(ConsentDisclosure)
        .values(
            id=uuid.uuid4(),
            organization_id=org_id,
            sha256=digest,
            text=text.encode("utf-8"),
            source_id=source_id,
            form_id=form_id,
            version=label,
        )
        .on_conflict_do_nothing(index_elements=["organization_id", "sha256"])
    )
    stored = await _disclosure_by_hash(session, org_id, digest)
    assert stored is not None
    return stored


async def _disclosure_by_hash(
    session: AsyncSession, org_id: uuid.UUID, digest: str
) -> ConsentDisclosure | None:
    stmt = scoped(ConsentDisclosure, org_id).where(ConsentDisclosure.sha256 == digest)
    return (await session.execute(stmt)).scalar_one_or_none()


async def _next_version(
    session: AsyncSession, org_id: uuid.UUID, source_id: uuid.UUID | None, form_id: str | None
) -> str:
    """`v<n>` counted per source and form: wording changes show up as new versions."""
    count = await session.scalar(
        select(func.count())
        .select_from(ConsentDisclosure)
        .where(
            ConsentDisclosure.organization_id == org_id,
            ConsentDisclosure.source_id.is_not_distinct_from(source_id),
            ConsentDisclosure.form_id.is_not_distinct_from(form_id),
        )
    )
    return f"v{(count or 0) + 1}"


# --- capture at intake ---------------------------------------------------------------------


def _form_consent(source: Source | None) -> FormConsent | None:
    raw = source.public_settings.get("consent") if source else None
    if not isinstance(raw, dict):
        return None
    try:
        return FormConsent.model_validate(raw)
    except ValidationError:
        return None


def _unique(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values))


@dataclass(frozen=True)
class IntakeConsent:
    """What a delivery's consent block (completed by the source's form settings) says."""

    spec: EventSpec
    text: str | None
    version: str | None

    def stand_ins(self) -> list[ConsentEvent]:
        """The events this consent records, as plain objects never added to a session: what
        a fresh lead's summary and contact channels are derived from, with no query."""
        spec = self.spec
        missing = list(spec.missing) if spec.missing is not None else None
        return [
            ConsentEvent(channel=c, purpose=p, decision=spec.decision, missing=missing,
                         captured_at=spec.captured_at, origin=spec.origin)
            for c in spec.channels
            for p in spec.purposes
        ]  # fmt: skip


def intake_consent(
    lead_in: CanonicalLead, source: Source | None, now: dt.datetime
) -> IntakeConsent | None:
    consent = lead_in.consent
    if consent is None:
        return None
    form = _form_consent(source)
    from_form = not consent.disclosure_text and form is not None
    text = form.disclosure_text if from_form and form else consent.disclosure_text
    stated = consent.captured_at or lead_in.submitted_at
    seller = consent.seller or (form.seller if form else None)
    details = {
        "ip": consent.ip,
        "user_agent": consent.user_agent,
        "page_url": consent.page_url,
        "certificate_url": consent.certificate_url,
        "leadid_token": consent.leadid_token,
    }
    # A ticked box proves written consent only with all of its evidence (app.consent.levels).
    missing = levels.missing_evidence(
        disclosure=text, seller=seller, captured_at=stated, details=details
    )
    decision = levels.decision(consent.checked, missing)
    attribution_form = lead_in.attribution.form_id if lead_in.attribution else None
    spec = EventSpec(
        decision=decision,
        channels=_unique(consent.channels or (form.channels if form else CHANNELS)),
        purposes=_unique(consent.purposes or (form.purposes if form else ("scheduling",))),
        origin="source_settings" if from_form else "lead",
        # A client clock ahead of ours must not order its grant after a later revocation.
        captured_at=min(stated or now, now),
        seller=seller,
        form_id=attribution_form or (form.form_id if form else None),
        method=consent.method,
        source_id=source.id if source else None,
        details=details,
        missing=missing if consent.checked else None,
    )
    return IntakeConsent(spec, text, form.version if from_form and form else None)


def preset_contact_channels(lead: Lead, found: IntakeConsent | None) -> None:
    """A fresh lead's contact channels, set before its row is written (no UPDATE after)."""
    events = found.stand_ins() if found else []
    lead.contact_channels = usable_channels(
        current_consent(events),
        lead.do_not_contact or (),
        lifted_pairs(events),
        emergency=bool(lead.emergency),
    )


async def capture_intake_consent(
    session: AsyncSession,
    lead: Lead,
    found: IntakeConsent | None,
    *,
    who: Identity,
    fresh: bool = False,
) -> dict[str, Any]:
    """Pipeline step: record the submission's consent (`intake_consent`) and summarise it
    (after `apply_suppressions`, whose result the summary includes).

    Every submission is recorded, resubmissions included: each is its own evidence. A
    `fresh` lead (created by this submission) has only the events recorded here, and its
    contact channels were set before it was written (`preset_contact_channels`); another
    lead's are refreshed from all of its events. `who` is the submission's normalised phone
    and email.
    """
    if found is not None:
        spec = found.spec
        if found.text:
            known_id = await disclosure_id(
                session,
                lead.organization_id,
                found.text,
                source_id=spec.source_id,
                form_id=spec.form_id,
                version=found.version,
            )
            spec = EventSpec(**{**spec.__dict__, "disclosure_id": known_id})
        await record_events(session, lead.organization_id, lead.id, who, spec)
    if fresh:
        events = found.stand_ins() if found else []
    else:
        events = await lead_events(session, lead)
        await refresh_contact_channels(session, lead, events)
    current = current_consent(events)
    return {"consent": summary(current, lead.do_not_contact, lifted_pairs(events))}


async def apply_suppressions(
    session: AsyncSession, lead: Lead, who: Identity, known: frozenset[str] | None = None
) -> None:
    """Pipeline step: mark the channels the suppression list blocks for the lead's or the
    submission's phone and email. It needs no lead row, so intake runs it before routing,
    outside the team's rotation lock. `known` is what intake read for the submission's
    phone and email with its identity lock; a lead of other hashes is looked up."""
    phone, email = who.phone_hash, who.email_hash  # keyed hashes: computed once
    if known is None or not {lead.phone_hash, lead.email_hash} <= {phone, email, None}:
        hashes = {
            "phone": [h for h in (lead.phone_hash, phone) if h],
            "email": [h for h in (lead.email_hash, email) if h],
        }
        known = await suppressed_channels(session, lead.organization_id, hashes)
    mark_do_not_contact(lead, known)


# --- the read view -------------------------------------------------------------------------


def _event_out(event: ConsentEvent) -> EventOut:
    return EventOut(
        id=event.id,
        lead_id=event.lead_id,
        channel=event.channel,
        purpose=event.purpose,
        decision=event.decision,
        captured_at=event.captured_at,
        recorded_at=event.created_at,
        retain_until=event.retain_until,
        origin=event.origin,
        method=event.method,
        via=event.via,
        keyword=event.keyword,
        seller=event.seller,
        form_id=event.form_id,
        source_id=event.source_id,
        disclosure_id=event.disclosure_id,
        missing=list(event.missing) if event.missing is not None else None,
        evidence=open_evidence(event),
    )


def _disclosure_out(row: ConsentDisclosure) -> DisclosureOut:
    return DisclosureOut(
        id=row.id,
        sha256=row.sha256,
        text=row.text.decode("utf-8"),
        source_id=row.source_id,
        form_id=row.form_id,
        version=row.version,
        first_seen_at=row.first_seen_at,
    )


async def disclosures_by_id(
    session: AsyncSession, org_id: uuid.UUID, ids: Iterable[uuid.UUID]
) -> list[ConsentDisclosure]:
    wanted = sorted(set(ids))
    if not wanted:
        return []
    stmt = (
        scoped(ConsentDisclosure, org_id)
        .where(ConsentDisclosure.id.in_(wanted))
        .order_by(ConsentDisclosure.first_seen_at, ConsentDisclosure.id)
    )
    return list((await session.execute(stmt)).scalars())


async def consent_view(
    session: AsyncSession,
    caller: Caller,
    lead_id: uuid.UUID,
    *,
    verifications: Callable[[AsyncSession, Lead], Awaitable[list[dict[str, Any]]]],
    format: str = "json",
) -> ConsentView:
    """Events, the current consent derived from them, the disclosures they cite and the
    checks of the lead's consent certificates (`verifications`: app.integrations'). Audited."""
    lead = await get_owned(session, Lead, lead_id, caller.org_id)
    events = await lead_events(session, lead)
    disclosures = await disclosures_by_id(
        session, caller.org_id, (e.disclosure_id for e in events if e.disclosure_id)
    )
    current = {
        channel: {
            purpose: CurrentConsent(
                status=e.decision,
                since=e.captured_at,
                evidence_id=e.id,
                missing=list(channel_consent(e).missing),
            )
            for purpose, e in sorted(per.items())
        }
        for channel, per in current_consent(events).items()
    }
    checks = await verifications(session, lead)
    await audit.record(session, caller, "consent.read", "lead", lead.id, {"format": format})
    return ConsentView(
        lead_id=lead.id,
        current=current,
        do_not_contact=sorted(lead.do_not_contact or ()),
        events=[_event_out(e) for e in events],
        disclosures=[_disclosure_out(d) for d in disclosures],
        consent_unverified=lead.consent_unverified,
        verifications=[VerificationOut.model_validate(c) for c in checks],
        lifted=[LiftedOut(channel=c, purpose=p) for c, p in sorted(lifted_pairs(events))],
        contact_channels=list(lead.contact_channels or ()),
    )
