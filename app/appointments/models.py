"""Appointments reported by scheduling systems, with FHIR R4 statuses."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, IdMixin, TimestampMixin, utcnow
from app.tenancy import TenantMixin


class Appointment(IdMixin, TimestampMixin, TenantMixin, Base):
    __tablename__ = "appointments"
    __label__ = "appointment"
    __table_args__ = (
        # A scheduling system's appointment id names one appointment in the organisation.
        Index(
            "uq_appointments_org_external_id",
            "organization_id",
            "external_id",
            unique=True,
            postgresql_where=text("external_id IS NOT NULL"),
        ),
        Index("ix_appointments_lead", "lead_id", "created_at"),
    )

    lead_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"))
    external_id: Mapped[str | None] = mapped_column(String(200))
    # FHIR `identifier.system` of the identifier `external_id` came from.
    external_system: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20))
    cancellation_reason: Mapped[str | None] = mapped_column(String(64))
    location: Mapped[str | None] = mapped_column(String(200))
    provider: Mapped[str | None] = mapped_column(String(200))
    # The FHIR practitioner participant as sent (a staff member, no patient data).
    provider_participant: Mapped[dict[str, Any] | None]
    service: Mapped[str | None] = mapped_column(String(200))
    start: Mapped[dt.datetime | None]
    end: Mapped[dt.datetime | None]
    # The sender's ordering facts: a change older than these is ignored.
    source_version: Mapped[str | None] = mapped_column(String(64))
    source_updated_at: Mapped[dt.datetime | None]
    # Our own version, bumped on every applied change (FHIR meta.versionId on reads).
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
