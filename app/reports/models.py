"""Report tables: `lead_metrics` (kept by database triggers; read-only here) and `spend`."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    SmallInteger,
    String,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, IdMixin, utcnow
from app.tenancy import TenantMixin


class LeadMetric(Base):
    """One row per lead, written only by the triggers of migration 0008: never write it here."""

    __tablename__ = "lead_metrics"
    __table_args__ = (
        Index(
            "ix_lead_metrics_org_received",
            "organization_id",
            "received_at",
            postgresql_where=text("NOT is_test"),
        ),
    )

    lead_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("leads.id", ondelete="CASCADE"), primary_key=True
    )
    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    received_at: Mapped[dt.datetime]
    is_test: Mapped[bool] = mapped_column(Boolean)
    source: Mapped[str | None] = mapped_column(String(200))
    campaign: Mapped[str | None] = mapped_column(String(200))
    service_code: Mapped[str | None] = mapped_column(String(64))
    location_id: Mapped[uuid.UUID | None]
    team_id: Mapped[uuid.UUID | None]
    member_id: Mapped[uuid.UUID | None]
    urgency: Mapped[str | None] = mapped_column(String(16))
    emergency: Mapped[bool] = mapped_column(Boolean)
    qualified: Mapped[bool | None] = mapped_column(Boolean)
    score: Mapped[int | None] = mapped_column(SmallInteger)
    score_band: Mapped[str | None] = mapped_column(String(8))
    resubmission_count: Mapped[int] = mapped_column(Integer)
    first_attempt_at: Mapped[dt.datetime | None]
    first_connected_at: Mapped[dt.datetime | None]
    sla_due_at: Mapped[dt.datetime | None]
    sla_breached_at: Mapped[dt.datetime | None]
    escalation_count: Mapped[int] = mapped_column(Integer)
    attempt_s: Mapped[float | None] = mapped_column(Float)
    connect_s: Mapped[float | None] = mapped_column(Float)
    booked_at: Mapped[dt.datetime | None]
    first_appointment_start: Mapped[dt.datetime | None]
    last_appointment_start: Mapped[dt.datetime | None]
    completed_at: Mapped[dt.datetime | None]
    noshow_count: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    cancelled_count: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    availability: Mapped[str | None] = mapped_column(String(16))
    first_slot_at: Mapped[dt.datetime | None]


class Spend(IdMixin, TenantMixin, Base):
    """Ad spend for one day, source and campaign ('' = not tied to a campaign)."""

    __tablename__ = "spend"
    __table_args__ = (
        UniqueConstraint(
            "organization_id", "date", "source", "campaign", name="uq_spend_org_date_source"
        ),
    )

    date: Mapped[dt.date] = mapped_column(Date)
    source: Mapped[str] = mapped_column(String(200))
    campaign: Mapped[str] = mapped_column(String(200), server_default="", default="")
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    currency: Mapped[str] = mapped_column(String(3))
    imported_at: Mapped[dt.datetime] = mapped_column(server_default=func.now(), default=utcnow)
