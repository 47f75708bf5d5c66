"""Consent evidence: disclosures (stored once, byte-exact), append-only events, suppressions.

Evidence must outlive the lead (TSR: 5 years, 16 CFR 310.5(a)(8)), so events carry their own
keyed hashes and an encrypted copy of the identifiers consented, and point at the lead with a
nullable foreign key that deleting the lead sets to NULL.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, IdMixin, utcnow
from app.tenancy import TenantMixin

CHANNELS = ("voice", "sms", "email")
PURPOSES = ("scheduling", "marketing")
# incomplete: the box was ticked but a piece of the evidence is missing (app.consent.levels).
DECISIONS = ("granted", "denied", "revoked", "incomplete")
VIAS = ("sms_reply", "call", "email", "form", "agent", "api")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class _EvidenceTenant(TenantMixin):
    # RESTRICT, not CASCADE: an organisation cannot silently take its legal evidence with it.
    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="RESTRICT"), index=True
    )


class ConsentDisclosure(IdMixin, _EvidenceTenant, Base):
    """The consent wording exactly as shown; `text` holds the submitted UTF-8 bytes."""

    __tablename__ = "consent_disclosures"
    __label__ = "disclosure"
    __table_args__ = (UniqueConstraint("organization_id", "sha256"),)

    sha256: Mapped[str] = mapped_column(String(64))
    text: Mapped[bytes] = mapped_column(LargeBinary)
    # No foreign keys: the wording stays evidence after its source is deleted.
    source_id: Mapped[uuid.UUID | None]
    form_id: Mapped[str | None] = mapped_column(String(200))
    version: Mapped[str] = mapped_column(String(64))
    first_seen_at: Mapped[dt.datetime] = mapped_column(server_default=func.now(), default=utcnow)


class ConsentEvent(IdMixin, _EvidenceTenant, Base):
    """Append-only (trigger in the migration); the current consent is derived from these."""

    __tablename__ = "consent_events"
    __label__ = "consent event"
    __table_args__ = (
        Index("ix_consent_events_lead", "lead_id", "captured_at"),
        Index("ix_consent_events_org_phone", "organization_id", "phone_hash"),
        Index("ix_consent_events_org_email", "organization_id", "email_hash"),
        CheckConstraint(_in("channel", CHANNELS), name="channel"),
        CheckConstraint(_in("purpose", PURPOSES), name="purpose"),
        CheckConstraint(_in("decision", DECISIONS), name="decision"),
        CheckConstraint(f"via IS NULL OR {_in('via', VIAS)}", name="via"),
    )

    lead_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("leads.id", ondelete="SET NULL"))
    phone_hash: Mapped[str | None] = mapped_column(String(64))
    email_hash: Mapped[str | None] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(8))
    purpose: Mapped[str] = mapped_column(String(16))
    decision: Mapped[str] = mapped_column(String(12))
    disclosure_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("consent_disclosures.id", ondelete="RESTRICT")
    )
    seller: Mapped[str | None] = mapped_column(String(200))
    form_id: Mapped[str | None] = mapped_column(String(200))
    method: Mapped[str | None] = mapped_column(String(20))
    # where the evidence came from: lead (the delivery's consent block), source_settings
    # (the source's FormConsent), revocation
    origin: Mapped[str] = mapped_column(String(20))
    via: Mapped[str | None] = mapped_column(String(12))
    keyword: Mapped[str | None] = mapped_column(String(16))
    # plain ids without foreign keys: a cascade from sources or api_keys would be an UPDATE
    source_id: Mapped[uuid.UUID | None]
    actor_key_id: Mapped[uuid.UUID | None]
    # AES-GCM JSON: phone, email, ip, user_agent, page_url, certificate_url, leadid_token, words
    evidence: Mapped[bytes] = mapped_column(LargeBinary)
    captured_at: Mapped[dt.datetime]
    created_at: Mapped[dt.datetime] = mapped_column(server_default=func.now(), default=utcnow)
    retain_until: Mapped[dt.datetime]
    # The pieces of written consent's evidence a grant lacked (app.consent.levels): empty
    # for a complete one; NULL on revocations and on events recorded before levels existed.
    missing: Mapped[list[str] | None] = mapped_column(ARRAY(String(24)))


class Suppression(IdMixin, TenantMixin, Base):
    """Do-not-contact by hashed phone or email; no link to leads, so erasure leaves it."""

    __tablename__ = "suppressions"
    __label__ = "suppression"
    __table_args__ = (
        UniqueConstraint("organization_id", "kind", "value_hash"),
        CheckConstraint("kind IN ('phone', 'email')", name="kind"),
    )

    kind: Mapped[str] = mapped_column(String(8))
    value_hash: Mapped[str] = mapped_column(String(64))
    channels: Mapped[list[str]] = mapped_column(ARRAY(String(8)))
    via: Mapped[str | None] = mapped_column(String(12))
    created_at: Mapped[dt.datetime] = mapped_column(server_default=func.now(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
