"""A person's identity and the sealed copy of what they told us.

Hashes find a person's leads, consent and suppressions without their plaintext; the PII
document is encrypted per lead, bound to the lead's id. Intake writes them, and every
domain that reads a lead's person (scoring, consent, handoff, outreach, privacy) reads
them here.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from app.crypto import cipher, keyed_hash
from app.leads.models import Lead
from app.leads.normalize import normalize_email, normalize_phone

# The five-digit ZIP's key in the lead's encrypted document (the row keeps its ZIP3).
POSTAL_CODE = "postal_code"


def pii_context(lead_id: uuid.UUID) -> str:
    return f"lead-pii:{lead_id}"


def phone_hash(e164: str) -> str:
    return keyed_hash("phone", e164)


def email_hash(email: str) -> str:
    return keyed_hash("email", email.lower())


# In the lead's document: the free-text reasons of its reassignments, by routing event id.
REASSIGN_REASONS = "reassign_reasons"


def encrypt_pii(lead_id: uuid.UUID, doc: dict[str, Any]) -> bytes:
    return cipher().encrypt(json.dumps(doc, separators=(",", ":")), pii_context(lead_id))


def decrypt_pii(lead: Lead) -> dict[str, Any]:
    if lead.pii is None:
        return {}
    return dict(json.loads(cipher().decrypt(lead.pii, pii_context(lead.id))))


def postal_code(lead: Lead, pii: dict[str, Any] | None = None) -> str | None:
    """The lead's five-digit ZIP, from its encrypted document (None once erased)."""
    doc = decrypt_pii(lead) if pii is None else pii
    code = doc.get(POSTAL_CODE)
    return str(code) if code else None


@dataclass(frozen=True)
class Identity:
    """The number and address a decision is about: hashes for lookups, plaintext sealed."""

    phone: str | None = None
    email: str | None = None

    @property
    def phone_hash(self) -> str | None:
        return phone_hash(self.phone) if self.phone else None

    @property
    def email_hash(self) -> str | None:
        return email_hash(self.email) if self.email else None

    @classmethod
    def parse(cls, phone: str | None, email: str | None) -> Identity:
        return cls(normalize_phone(phone).e164 if phone else None, normalize_email(email))

    @classmethod
    def of_lead(cls, lead: Lead, pii: dict[str, Any] | None = None) -> Identity:
        pii = decrypt_pii(lead) if pii is None else pii
        phone, email = pii.get("phone"), pii.get("email")
        # pii["phone"] is the raw text when the number did not normalise: not an identity.
        return cls(phone if lead.phone_hash else None, email if lead.email_hash else None)
