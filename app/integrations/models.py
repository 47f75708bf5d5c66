"""Third-party consent verification: the organisation's credentials and each check's outcome."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import CheckConstraint, ForeignKey, Index, LargeBinary, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, IdMixin, utcnow
from app.tenancy import TenantMixin

PROVIDERS = ("trustedform", "jornaya")
# pending: not checked yet (or being retried); refused: never sent (not the provider's host,
# not a token of its form); the rest are the provider's answer.
STATUSES = ("pending", "verified", "no_match", "expired", "error", "refused")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class IntegrationCredential(IdMixin, TenantMixin, Base):
    """Write-only: the API never answers the secret back."""

    __tablename__ = "integration_credentials"
    __table_args__ = (
        Index(
            "uq_integration_credentials_org_provider", "organization_id", "provider", unique=True
        ),
        CheckConstraint(_in("provider", PROVIDERS), name="provider"),
    )

    provider: Mapped[str] = mapped_column(String(16))
    secret_enc: Mapped[bytes] = mapped_column(LargeBinary)
    actor_key_id: Mapped[uuid.UUID | None]
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ConsentVerification(IdMixin, TenantMixin, Base):
    """One certificate or token checked with its provider: part of the consent evidence, kept
    under the same legal hold as the consent events (`retain_until`), after the lead."""

    __tablename__ = "consent_verifications"
    __label__ = "consent verification"
    __table_args__ = (
        Index(
            "uq_consent_verifications_lead_ref",
            "organization_id",
            "lead_id",
            "provider",
            "reference_hash",
            unique=True,
        ),
        CheckConstraint(_in("provider", PROVIDERS), name="provider"),
        CheckConstraint(_in("status", STATUSES), name="status"),
    )

    lead_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("leads.id", ondelete="SET NULL"))
    provider: Mapped[str] = mapped_column(String(16))
    # keyed hash of the certificate URL or token: one check per lead and certificate
    reference_hash: Mapped[str] = mapped_column(String(64))
    # AES-GCM: the certificate URL or token as received
    reference_enc: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(12), default="pending")
    reason: Mapped[str | None] = mapped_column(String(300))
    # AES-GCM JSON: the provider's facts (page URL, created at, expiry, match details)
    facts_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    attempts: Mapped[int] = mapped_column(SmallInteger, default=0)
    requested_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    checked_at: Mapped[dt.datetime | None]
    deadline: Mapped[dt.datetime]
    retain_until: Mapped[dt.datetime]
