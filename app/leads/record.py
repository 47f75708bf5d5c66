"""A lead's row and sealed document from a normalised submission: what intake writes and
the demo's history seeds alike."""

from __future__ import annotations

from typing import Any

from app.leads.canonical import CanonicalLead
from app.leads.identity import POSTAL_CODE, email_hash, encrypt_pii, phone_hash
from app.leads.models import Lead, Source
from app.leads.normalize import NormalizedLead, zip3


def pii_doc(lead: CanonicalLead, norm: NormalizedLead) -> dict[str, Any]:
    """What the person told us, as sealed in the lead's (or a submission's) `pii`."""
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
        POSTAL_CODE: norm.postal_code,
        "reason": lead.reason,
        "service_text": lead.service.text if lead.service else None,
        "insurance": lead.insurance.model_dump(exclude_none=True) if lead.insurance else None,
        "referral": lead.referral.model_dump(exclude_none=True) if lead.referral else None,
        "custom": dict(lead.custom) if lead.custom else None,
    }
    return {k: v for k, v in doc.items() if v not in (None, {}, [])}


def attribution(lead: CanonicalLead) -> dict[str, Any]:
    return lead.attribution.model_dump(exclude_none=True) if lead.attribution else {}


def identity_hashes(norm: NormalizedLead) -> tuple[str | None, str | None]:
    """The phone and email hashes the person is found by (None: not a usable identity)."""
    ph = phone_hash(norm.phone_e164) if norm.phone_e164 else None
    eh = email_hash(norm.email_normalized) if norm.email_normalized else None
    return ph, eh


def fill(
    lead: Lead,
    lead_in: CanonicalLead,
    norm: NormalizedLead,
    source: Source | None,
    channel: str,
) -> None:
    """A new lead's columns from its first submission."""
    lead.source_id = source.id if source else None
    lead.status = "new"
    lead.is_test = bool(lead_in.is_test)
    lead.channel = channel
    lead.external_id = lead_in.external_id
    lead.pii = encrypt_pii(lead.id, pii_doc(lead_in, norm))
    lead.phone_hash, lead.email_hash = identity_hashes(norm)
    lead.zip3 = zip3(norm.postal_code)
    lead.state = norm.state
    lead.phone_state = norm.phone_state
    lead.time_zone = norm.time_zone
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
    lead.attribution = attribution(lead_in)
