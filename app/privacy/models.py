"""Erasure requests: the record kept of a person's request to erase their data."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import Boolean, CheckConstraint, Index, Integer, LargeBinary, String, func, text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, IdMixin, utcnow
from app.tenancy import TenantMixin


class ErasureRequest(IdMixin, TenantMixin, Base):
    """Kept 24 months (CCPA regulations, 11 CCR §7101) with no personal data: the keyed
    hashes of the phone and email are held only while the request is queued, to find the
    leads; the operator's note is encrypted and goes with the record."""

    __tablename__ = "erasure_requests"
    __label__ = "erasure request"
    __table_args__ = (
        Index("ix_erasure_requests_org_received", "organization_id", "received_at"),
        Index(
            "ix_erasure_requests_pending",
            "received_at",
            postgresql_where=text("completed_at IS NULL"),
        ),
        CheckConstraint("status IN ('queued', 'completed')", name="status"),
    )

    status: Mapped[str] = mapped_column(String(16))
    by_phone: Mapped[bool] = mapped_column(Boolean)
    by_email: Mapped[bool] = mapped_column(Boolean)
    phone_hash: Mapped[str | None] = mapped_column(String(64))
    email_hash: Mapped[str | None] = mapped_column(String(64))
    received_at: Mapped[dt.datetime]
    verified_at: Mapped[dt.datetime]
    verified_by: Mapped[str] = mapped_column(String(200))
    verification_note_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    completed_at: Mapped[dt.datetime | None]
    leads_erased: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    actor_key_id: Mapped[uuid.UUID | None]
    created_at: Mapped[dt.datetime] = mapped_column(server_default=func.now(), default=utcnow)
    retain_until: Mapped[dt.datetime]
