"""Schedules and slots as the practice's scheduling system reports them (FHIR R4 names)."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, IdMixin, TimestampMixin, utcnow
from app.tenancy import TenantMixin


class Schedule(IdMixin, TimestampMixin, TenantMixin, Base):
    """One bookable calendar: a location, optionally a practitioner, and the services it books."""

    __tablename__ = "availability_schedules"
    __label__ = "schedule"
    __table_args__ = (UniqueConstraint("organization_id", "external_id"),)

    # The sender's FHIR id (`Schedule/{external_id}`); canonical slots get `canonical:…` ones.
    external_id: Mapped[str] = mapped_column(String(200))
    location_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("locations.id", ondelete="CASCADE"))
    practitioner: Mapped[str | None] = mapped_column(String(200))
    # Our service codes: those the sender declared, and those its slots named since.
    service_codes: Mapped[list[str]] = mapped_column(ARRAY(String(64)), default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    source_version: Mapped[str | None] = mapped_column(String(64))
    source_updated_at: Mapped[dt.datetime | None]
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Slot(IdMixin, TenantMixin, Base):
    __tablename__ = "availability_slots"
    __label__ = "slot"
    __table_args__ = (
        UniqueConstraint("organization_id", "external_id"),
        # The earliest free slot of a service at a location is one range scan of this index,
        # however many slots the horizon holds (app.availability.service.FREE_SLOTS).
        Index(
            "ix_availability_slots_free",
            "organization_id",
            "location_id",
            "service_code",
            "start",
            postgresql_where=text("status = 'free'"),
            postgresql_include=["appointment_type", "held_until"],
        ),
        Index("ix_availability_slots_schedule", "schedule_id"),
    )

    external_id: Mapped[str] = mapped_column(String(200))
    schedule_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("availability_schedules.id", ondelete="CASCADE")
    )
    # Copied from the schedule so the free-slot index needs no join.
    location_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("locations.id", ondelete="CASCADE"))
    practitioner: Mapped[str | None] = mapped_column(String(200))
    # Our service code (the slot's serviceType, else its schedule's); NULL: none we offer.
    service_code: Mapped[str | None] = mapped_column(String(64))
    appointment_type: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20))
    start: Mapped[dt.datetime]
    end: Mapped[dt.datetime]
    # A caller's hold: the slot reads as busy-tentative to everyone else until then.
    held_until: Mapped[dt.datetime | None]
    held_for_lead: Mapped[uuid.UUID | None]
    # The appointment that booked it here (FHIR Appointment.slot), so a cancellation frees it.
    appointment_id: Mapped[uuid.UUID | None]
    pulled: Mapped[bool] = mapped_column(Boolean, default=False)
    source_version: Mapped[str | None] = mapped_column(String(64))
    source_updated_at: Mapped[dt.datetime | None]
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class AvailabilityFeed(IdMixin, TenantMixin, Base):
    """A FHIR server the worker polls for the organisation's free slots."""

    __tablename__ = "availability_feeds"
    __label__ = "availability feed"
    __table_args__ = (UniqueConstraint("organization_id"),)

    base_url: Mapped[str] = mapped_column(String(500))
    poll_minutes: Mapped[float] = mapped_column(Float, default=15.0)
    days_ahead: Mapped[int] = mapped_column(Integer, default=60)
    next_poll_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_polled_at: Mapped[dt.datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(500))
    last_slot_count: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
