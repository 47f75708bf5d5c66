"""The one data path after an adapter: normalise → dedup → store → later steps.

Every source kind (and `POST /v1/leads`) ends here with a canonical lead.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from sqlalchemy import bindparam, exists, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app import configcache
from app.crypto import cipher, keyed_hash
from app.db import db, utcnow
from app.direct import Direct, fetch
from app.intake import steps
from app.intake.canonical import CanonicalLead
from app.intake.models import InboxDelivery, Source
from app.intake.normalize import NormalizedLead, normalize
from app.leads.models import Lead, LeadSubmission, same_person
from app.routing.rules import CompiledRuleset

DEFAULT_DUPLICATE_WINDOW = dt.timedelta(days=30)


@dataclass
class IngestResult:
    lead: Lead
    resubmission: bool
    extra: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "lead_id": str(self.lead.id),
            "status": self.lead.status,
            "resubmission": self.resubmission,
        }
        out.update(self.extra)
        return out


def pii_context(lead_id: uuid.UUID) -> str:
    return f"lead-pii:{lead_id}"


def phone_hash(e164: str) -> str:
    return keyed_hash("phone", e164)


def email_hash(email: str) -> str:
    return keyed_hash("email", email.lower())


def _pii(lead: CanonicalLead, norm: NormalizedLead) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "first_name": norm.first_name,
        "last_name": norm.last_name,
        "full_name": norm.full_name,
        "phone": norm.phone_e164 or norm.phone_raw,
        "phone_raw": norm.phone_raw,
        "email": norm.email_normalized or norm.email_raw,
        "date_of_birth": lead.date_of_birth.isoformat() if lead.date_of_birth else None,
        "address": lead.address.model_dump(exclude_none=True) if lead.address else None,
        "city": norm.city,
        "reason": lead.reason,
        "service_text": lead.service.text if lead.service else None,
        "insurance": lead.insurance.model_dump(exclude_none=True) if lead.insurance else None,
        "referral": lead.referral.model_dump(exclude_none=True) if lead.referral else None,
        "custom": dict(lead.custom) if lead.custom else None,
    }
    return {k: v for k, v in doc.items() if v not in (None, {}, [])}


def _attribution(lead: CanonicalLead) -> dict[str, Any]:
    return lead.attribution.model_dump(exclude_none=True) if lead.attribution else {}


def encrypt_pii(lead_id: uuid.UUID, doc: dict[str, Any]) -> bytes:
    return cipher().encrypt(json.dumps(doc, separators=(",", ":")), pii_context(lead_id))


def decrypt_pii(lead: Lead) -> dict[str, Any]:
    if lead.pii is None:
        return {}
    return dict(json.loads(cipher().decrypt(lead.pii, pii_context(lead.id))))


@cache
def _lock_stmt(keys: int) -> Direct:
    # Imported here: app.consent.service reads hashes through this module.
    from app.consent.service import SUPPRESSED_BINDS, SUPPRESSED_SQL

    locks = ", ".join(f"pg_advisory_xact_lock(hashtextextended(:k{i}, 0))" for i in range(keys))
    sql = text(f"SELECT {configcache.VERSION_SQL}, {SUPPRESSED_SQL}, {locks}")
    return Direct(sql.bindparams(*SUPPRESSED_BINDS))


async def _lock_identity(
    session: AsyncSession, org_id: uuid.UUID, phone: str | None, email: str | None
) -> frozenset[str]:
    """Serialise concurrent submissions of one person, so they can't both create a lead.

    The same round trip reads the organisation's configuration version for the steps after,
    and the channels the suppression list blocks for this phone and email hash.
    """
    hashes = [h for h in (phone, email) if h]
    if not hashes:
        return frozenset()
    # Sorted keys give every transaction the same lock order (no deadlock).
    keys = {f"k{i}": f"lead-identity:{org_id}:{h}" for i, h in enumerate(sorted(hashes))}
    params = {
        **keys,
        "config_org": org_id,
        "sup_org": org_id,
        "sup_phone": [phone] if phone else [],
        "sup_email": [email] if email else [],
    }
    rows = await fetch(session, _lock_stmt(len(keys)), params)
    configcache.remember(session, org_id, rows[0][0])
    return frozenset(rows[0][1])


@dataclass(frozen=True)
class Simulation:
    """Ingest to see the answer, within a transaction the caller rolls back."""

    # A draft rule set to route with; None: the live one.
    ruleset: CompiledRuleset | None = None


class Redelivered(Exception):
    """The webhook delivery being processed was stored by an earlier attempt meanwhile."""


@cache
def _duplicate_stmt(by_phone: bool, by_email: bool, guard: bool) -> Direct:
    """Built once per shape, with bound parameters: intake pays no statement construction.

    Only the id, sent past the ORM: nine leads in ten find none, and the ORM's execution
    of a query costs several times its round trip (py-spy: 5 % of an intake process).
    With `guard`, the same round trip says whether the delivery's event is stored already
    (app.intake.service writes its inbox row last)."""
    by_person = same_person(by_phone, by_email)
    found = (
        select(Lead.id)
        .where(
            Lead.organization_id == bindparam("org"),
            or_(*by_person),
            Lead.received_at >= bindparam("since"),
            Lead.erased_at.is_(None),
            Lead.status != "pending_retrieval",
        )
        .order_by(Lead.received_at)
        .limit(1)
        .with_for_update()
        .scalar_subquery()
    )
    stored = exists().where(
        InboxDelivery.source_id == bindparam("source"), InboxDelivery.event_id == bindparam("event")
    )
    return Direct(select(found, stored) if guard else select(found))


async def find_duplicate(
    session: AsyncSession,
    org_id: uuid.UUID,
    phone: str | None,
    email: str | None,
    since: dt.datetime,
    redelivery_of: tuple[uuid.UUID, str] | None = None,
) -> Lead | None:
    """The person's earlier lead, locked. With `redelivery_of` (a webhook's source and
    event id), raises Redelivered if that event was stored since the delivery arrived."""
    if not phone and not email:
        return None
    stmt = _duplicate_stmt(bool(phone), bool(email), redelivery_of is not None)
    params = {"org": org_id, "phone": phone, "email": email, "since": since}
    if redelivery_of is not None:
        params["source"], params["event"] = redelivery_of
    [row] = await fetch(session, stmt, params)
    if redelivery_of is not None and row[1]:
        raise Redelivered
    if row[0] is None:
        return None
    # Locked above by this transaction, so the row loaded now is the one found.
    return await session.get_one(Lead, row[0])


async def ingest(
    session: AsyncSession,
    org_id: uuid.UUID,
    lead_in: CanonicalLead,
    *,
    source: Source | None = None,
    inbox_id: uuid.UUID | None = None,
    redelivery_of: tuple[uuid.UUID, str] | None = None,
    received_at: dt.datetime | None = None,
    placeholder: Lead | None = None,
    duplicate_window: dt.timedelta | None = DEFAULT_DUPLICATE_WINDOW,
    simulation: Simulation | None = None,
) -> IngestResult:
    """Store one canonical lead, as a new lead or as a resubmission of a recent one.

    `placeholder` is a lead row created before its data was known (Meta retrieval); it is
    filled in, or removed in favour of the existing lead when the person is a duplicate.
    `duplicate_window=None` means the organisation's (scoring settings). `redelivery_of`:
    see find_duplicate. A `simulation` commits nothing apart from the session's transaction,
    which its caller rolls back: routing decides inside it.
    """
    now = received_at or utcnow()
    if simulation is None:
        route_apart, ruleset = db.routing_engine(session.bind), None
    else:
        route_apart, ruleset = None, simulation.ruleset
    norm = normalize(lead_in)
    ph = phone_hash(norm.phone_e164) if norm.phone_e164 else None
    eh = email_hash(norm.email_normalized) if norm.email_normalized else None
    suppressed = await _lock_identity(session, org_id, ph, eh)
    if duplicate_window is None:
        # Read after the lock, whose statement brought the configuration version along.
        duplicate_window = await steps.duplicate_window(session, org_id)
    since = now - duplicate_window
    existing = await find_duplicate(session, org_id, ph, eh, since, redelivery_of)
    channel = lead_in.channel or (source.kind if source else "api")
    phone, email = norm.phone_e164, norm.email_normalized
    submission = LeadSubmission(
        id=uuid.uuid4(),
        organization_id=org_id,
        source_id=source.id if source else None,
        inbox_id=inbox_id,
        received_at=now,
        external_id=lead_in.external_id,
        channel=channel,
        attribution=_attribution(lead_in),
        normalization_flags=list(norm.flags),
    )
    if existing is not None:
        if placeholder is not None:
            await session.delete(placeholder)
        existing.resubmission_count += 1
        existing.last_submitted_at = now
        submission.lead_id = existing.id
        submission.is_resubmission = True
        submission.payload = encrypt_pii(existing.id, _pii(lead_in, norm))
        session.add(submission)
        extra = await steps.after_store(
            steps.StepContext(
                session,
                existing,
                lead_in,
                source,
                now,
                resubmission=True,
                phone=phone,
                email=email,
                suppressed=suppressed,
                route_apart=route_apart,
                ruleset=ruleset,
            )
        )
        return IngestResult(existing, resubmission=True, extra=extra)

    lead = placeholder or Lead(id=uuid.uuid4(), organization_id=org_id, received_at=now)
    _fill(lead, lead_in, norm, source, channel)
    lead.phone_hash, lead.email_hash = ph, eh
    lead.last_submitted_at = now
    submission.lead_id = lead.id
    submission.payload = lead.pii
    if placeholder is not None:
        session.add(submission)
    # Not written here: after_store writes the lead with its decisions (and a new lead's
    # submission with it) in one INSERT.
    extra = await steps.after_store(
        steps.StepContext(
            session,
            lead,
            lead_in,
            source,
            now,
            resubmission=False,
            fresh=placeholder is None,
            unsaved=submission if placeholder is None else None,
            phone=phone,
            email=email,
            suppressed=suppressed,
            route_apart=route_apart,
            ruleset=ruleset,
        )
    )
    return IngestResult(lead, resubmission=False, extra=extra)


def _fill(
    lead: Lead,
    lead_in: CanonicalLead,
    norm: NormalizedLead,
    source: Source | None,
    channel: str,
) -> None:
    lead.source_id = source.id if source else None
    lead.status = "new"
    lead.is_test = bool(lead_in.is_test)
    lead.channel = channel
    lead.external_id = lead_in.external_id
    lead.pii = encrypt_pii(lead.id, _pii(lead_in, norm))
    lead.postal_code = norm.postal_code
    lead.state = norm.state
    lead.phone_state = norm.phone_state
    lead.time_zone = norm.time_zone
    lead.latitude, lead.longitude = norm.latitude, norm.longitude
    lead.normalization_flags = list(norm.flags)
    service = lead_in.service
    lead.service_requested = (service.code if service else None) or (
        source.default_service if source else None
    )
    lead.urgency_requested = lead_in.urgency
    lead.requested_timeframe = lead_in.requested_timeframe
    lead.preferred_contact_method = lead_in.preferred_contact_method
    lead.preferred_contact_time = lead_in.preferred_contact_time
    lead.preferred_location = lead_in.preferred_location or (
        str(source.default_location_id) if source and source.default_location_id else None
    )
    lead.language = lead_in.language
    ins = lead_in.insurance
    lead.insurance_plan = " ".join(p for p in (ins.carrier, ins.plan) if p) or None if ins else None
    lead.new_patient = lead_in.new_patient
    lead.attribution = _attribution(lead_in)
