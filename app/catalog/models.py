"""The practice model: where patients are seen, for what, and how leads are scored.

Every write to these tables bumps `ScoringConfig.practice_version` in the same
transaction; the scoring step caches the compiled practice per (organisation, version).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    Boolean,
    Float,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, IdMixin, TimestampMixin, utcnow
from app.tenancy import TenantMixin

# Matches intake's historical default (app.intake.flow.DEFAULT_DUPLICATE_WINDOW).
DEFAULT_DUPLICATE_WINDOW_HOURS = 24 * 30


class Location(IdMixin, TimestampMixin, TenantMixin, Base):
    __tablename__ = "locations"
    __label__ = "location"

    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str | None] = mapped_column(String(300))
    city: Mapped[str | None] = mapped_column(String(100))
    state: Mapped[str | None] = mapped_column(String(2))
    postal_code: Mapped[str] = mapped_column(String(10))
    # Derived from the ZIP unless the admin gave them (geo_overridden).
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    time_zone: Mapped[str] = mapped_column(String(64))
    geo_overridden: Mapped[bool] = mapped_column(Boolean, default=False)
    phone: Mapped[str | None] = mapped_column(String(32))
    # `app.hours.WeeklyHours.to_json()`: weekdays, time zone and holidays in one document.
    hours: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    services: Mapped[list[str]] = mapped_column(ARRAY(String(64)), default=list)
    accepts_new_patients: Mapped[bool] = mapped_column(Boolean, default=True)
    languages: Mapped[list[str]] = mapped_column(ARRAY(String(16)), default=list)
    # NULL: every plan is accepted.
    insurance_accepted: Mapped[list[str] | None] = mapped_column(ARRAY(String(200)))
    min_age: Mapped[int | None] = mapped_column(SmallInteger)
    max_age: Mapped[int | None] = mapped_column(SmallInteger)
    service_radius_miles: Mapped[float | None] = mapped_column(Float)
    service_zips: Mapped[list[str] | None] = mapped_column(ARRAY(String(5)))
    # How the scheduling system names this location (FHIR Schedule.actor identifiers or ids).
    scheduler_ids: Mapped[list[str]] = mapped_column(
        ARRAY(String(200)), default=list, server_default="{}"
    )
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Service(IdMixin, TimestampMixin, TenantMixin, Base):
    __tablename__ = "services"
    __label__ = "service"
    __table_args__ = (UniqueConstraint("organization_id", "code"),)

    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    synonyms: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    urgency_phrases: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    red_flag_phrases: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    # The scheduler's codes for this service (FHIR serviceType codings), besides `code`.
    scheduler_codes: Mapped[list[str]] = mapped_column(
        ARRAY(String(64)), default=list, server_default="{}"
    )
    # Slot appointment types a new patient can book; empty: any slot of the service.
    new_patient_slot_types: Mapped[list[str]] = mapped_column(
        ARRAY(String(64)), default=list, server_default="{}"
    )
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ScoringConfig(IdMixin, TenantMixin, Base):
    """One row per organisation, created by its first practice or settings change."""

    __tablename__ = "scoring_configs"
    __label__ = "scoring settings"
    __table_args__ = (UniqueConstraint("organization_id"),)

    # NULL: the core's defaults (app.scoring.definitions.DEFAULT_WEIGHTS).
    weights: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    hot_threshold: Mapped[int] = mapped_column(SmallInteger, default=70)
    warm_threshold: Mapped[int] = mapped_column(SmallInteger, default=40)
    red_flag_phrases: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    # The organisation's own triage concepts, added to the built-in ones (app.scoring.concepts).
    red_flag_concepts: Mapped[list[dict[str, Any]]] = mapped_column(
        JSONB, default=list, server_default=text("'[]'::jsonb")
    )
    duplicate_window_hours: Mapped[int] = mapped_column(
        Integer, default=DEFAULT_DUPLICATE_WINDOW_HOURS
    )
    # "earliest_available" or "nearest": how a location is chosen when slots are known.
    location_preference: Mapped[str] = mapped_column(
        String(24), default="earliest_available", server_default="earliest_available"
    )
    availability_horizon_days: Mapped[int] = mapped_column(
        SmallInteger, default=21, server_default="21"
    )
    # With earliest available: no farther than this (NULL: the locations' service areas).
    availability_max_miles: Mapped[float | None] = mapped_column(Float)
    # Bumped by every settings change; stored on each lead with the scoring version.
    settings_version: Mapped[int] = mapped_column(Integer, default=0)
    # Bumped by every location, service or settings change: the compiled-practice cache key.
    practice_version: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
