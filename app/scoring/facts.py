"""Changing a stored lead's facts before re-scoring it."""

from __future__ import annotations

from typing import Any

from app.errors import Unprocessable
from app.leads import identity
from app.leads.models import Lead
from app.leads.normalize import FLAG_ZIP_UNKNOWN, clean_text, lookup_zip, zip3, zip5

# Fact name → lead column; the rest live in the encrypted PII document.
_COLUMNS = {
    "service_code": "service_requested",
    "urgency": "urgency_requested",
    "requested_timeframe": "requested_timeframe",
    "preferred_location": "preferred_location",
    "language": "language",
    "new_patient": "new_patient",
}


def _set_pii(pii: dict[str, Any], key: str, value: Any) -> None:
    if value in (None, "", {}):
        pii.pop(key, None)
    else:
        pii[key] = value


def _set_postal_code(lead: Lead, pii: dict[str, Any], raw: str | None) -> None:
    code = zip5(raw)
    if clean_text(raw) and code is None:
        raise Unprocessable(
            "Invalid ZIP code.",
            extra={"errors": [{"field": "postal_code", "message": "expected a 5-digit ZIP"}]},
        )
    info = lookup_zip(code) if code else None
    _set_pii(pii, identity.POSTAL_CODE, code)
    lead.zip3 = zip3(code)
    lead.state = info.state if info else None
    lead.time_zone = info.time_zone if info else None
    _set_pii(pii, "city", info.city if info else None)
    flags = [f for f in lead.normalization_flags if f != FLAG_ZIP_UNKNOWN]
    if code and info is None:
        flags.append(FLAG_ZIP_UNKNOWN)
    lead.normalization_flags = flags


def apply_changes(lead: Lead, changes: dict[str, Any]) -> None:
    """Write the sent facts onto the lead (columns and encrypted PII)."""
    pii = identity.decrypt_pii(lead)
    for name, column in _COLUMNS.items():
        if name in changes:
            value = changes[name]
            setattr(lead, column, clean_text(value) if isinstance(value, str) else value)
    if "service_text" in changes:
        _set_pii(pii, "service_text", clean_text(changes["service_text"]))
    if "reason" in changes:
        _set_pii(pii, "reason", clean_text(changes["reason"]))
    if "date_of_birth" in changes:
        dob = changes["date_of_birth"]
        _set_pii(pii, "date_of_birth", dob.isoformat() if dob else None)
    if "insurance" in changes:
        ins = changes["insurance"] or {}
        _set_pii(pii, "insurance", {k: v for k, v in ins.items() if v is not None})
        lead.insurance_plan = (
            " ".join(p for p in (ins.get("carrier"), ins.get("plan")) if p) or None
        )
    if "postal_code" in changes:
        _set_postal_code(lead, pii, changes["postal_code"])
    lead.pii = identity.encrypt_pii(lead.id, pii)
