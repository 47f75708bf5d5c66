"""The lead: one person's expression of interest from one source, after de-duplication.

A lead's source (a form, an ad account, a partner) is defined here too: every domain that
reads where a lead came from reads it beside the lead.

Personal data lives only in `pii` (AES-GCM, see app.crypto); lookups use keyed hashes.
Columns written by later pipeline steps (scoring, routing, handoff) live here too, so the
lead list and reports read one row per lead.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    bindparam,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, IdMixin, TimestampMixin, utcnow
from app.tenancy import TenantMixin


class Source(IdMixin, TimestampMixin, TenantMixin, Base):
    __tablename__ = "sources"
    __label__ = "source"

    kind: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    # settings with secrets, encrypted; `public_settings` is the same minus secrets
    settings_enc: Mapped[bytes] = mapped_column(LargeBinary)
    public_settings: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    mapping: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    default_service: Mapped[str | None] = mapped_column(String(64))
    default_location_id: Mapped[uuid.UUID | None]
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Lead(IdMixin, TenantMixin, Base):
    __tablename__ = "leads"
    __label__ = "lead"
    __table_args__ = (
        Index("ix_leads_org_received", "organization_id", "received_at"),
        Index("ix_leads_org_phone_hash", "organization_id", "phone_hash", "received_at"),
        Index("ix_leads_org_email_hash", "organization_id", "email_hash", "received_at"),
        Index("ix_leads_org_status", "organization_id", "status"),
        Index("ix_leads_source_external", "source_id", "external_id"),
        Index(
            "ix_leads_retention",
            "last_submitted_at",
            postgresql_where=text("erased_at IS NULL"),
        ),
    )

    source_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("sources.id", ondelete="SET NULL")
    )
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_submitted_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    status: Mapped[str] = mapped_column(String(32), default="new")
    is_test: Mapped[bool] = mapped_column(Boolean, default=False)
    channel: Mapped[str] = mapped_column(String(32), default="api")
    external_id: Mapped[str | None] = mapped_column(String(200))
    # personal data, encrypted as one JSON document
    pii: Mapped[bytes | None] = mapped_column(LargeBinary)
    phone_hash: Mapped[str | None] = mapped_column(String(64))
    email_hash: Mapped[str | None] = mapped_column(String(64))
    # Where the person is, reduced to what identifies no one (HIPAA Safe Harbor): the ZIP's
    # first three digits (000 for small areas), the state and the time zone. The five-digit
    # ZIP is one of HIPAA's identifiers: it is kept in `pii`, and its coordinates are looked
    # up from it when scoring needs a distance.
    zip3: Mapped[str | None] = mapped_column(String(3))
    state: Mapped[str | None] = mapped_column(String(2))
    phone_state: Mapped[str | None] = mapped_column(String(2))
    time_zone: Mapped[str | None] = mapped_column(String(64))
    normalization_flags: Mapped[list[str]] = mapped_column(ARRAY(String(40)), default=list)
    # what was asked for
    service_requested: Mapped[str | None] = mapped_column(String(200))
    urgency_requested: Mapped[str | None] = mapped_column(String(16))
    requested_timeframe: Mapped[str | None] = mapped_column(String(200))
    preferred_contact_method: Mapped[str | None] = mapped_column(String(8))
    preferred_contact_time: Mapped[str | None] = mapped_column(String(200))
    preferred_location: Mapped[str | None] = mapped_column(String(200))
    language: Mapped[str | None] = mapped_column(String(16))
    insurance_plan: Mapped[str | None] = mapped_column(String(200))
    new_patient: Mapped[bool | None] = mapped_column(Boolean)
    attribution: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    resubmission_count: Mapped[int] = mapped_column(Integer, default=0)
    # scoring and qualification (issue: practice model)
    service_code: Mapped[str | None] = mapped_column(String(64))
    location_id: Mapped[uuid.UUID | None]
    distance_miles: Mapped[float | None] = mapped_column(Float)
    urgency: Mapped[str | None] = mapped_column(String(16))
    emergency: Mapped[bool] = mapped_column(Boolean, default=False)
    qualified: Mapped[bool | None] = mapped_column(Boolean)
    score: Mapped[int | None] = mapped_column(SmallInteger)
    score_band: Mapped[str | None] = mapped_column(String(8))
    assessment: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    # "offered" (a free slot within the horizon), "no_availability", or NULL (no schedules
    # for the service); the earliest such slot's start.
    availability: Mapped[str | None] = mapped_column(String(16))
    first_slot_at: Mapped[dt.datetime | None]
    scoring_version: Mapped[str | None] = mapped_column(String(32))
    # routing
    team_id: Mapped[uuid.UUID | None]
    member_id: Mapped[uuid.UUID | None]
    ruleset_version: Mapped[int | None] = mapped_column(Integer)
    rule_id: Mapped[str | None] = mapped_column(String(64))
    routing_trace: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    routed_at: Mapped[dt.datetime | None]
    callback_at: Mapped[dt.datetime | None]
    sla_due_at: Mapped[dt.datetime | None]
    # contact and outcomes
    do_not_contact: Mapped[list[str]] = mapped_column(ARRAY(String(8)), default=list)
    # Channels the consent on record allows now for some purpose (app.consent.standing),
    # kept in the transaction of every consent change: the pull queue and the SLA sweep
    # take only leads with at least one.
    contact_channels: Mapped[list[str]] = mapped_column(
        ARRAY(String(8)), default=list, server_default=text("'{}'")
    )
    first_attempt_at: Mapped[dt.datetime | None]
    first_connected_at: Mapped[dt.datetime | None]
    sla_breached_at: Mapped[dt.datetime | None]
    escalation_count: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    # pull queue and SLA escalation (app.handoff.queue, app.outreach.sla)
    claimed_at: Mapped[dt.datetime | None]
    escalation_due_at: Mapped[dt.datetime | None]
    erased_at: Mapped[dt.datetime | None]
    # A consent certificate or token that did not verify (app.integrations.verification).
    consent_unverified: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=text("false")
    )
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class LeadSubmission(IdMixin, TenantMixin, Base):
    """Each delivery that produced or repeated a lead; resubmissions are counted apart."""

    __tablename__ = "lead_submissions"
    __table_args__ = (Index("ix_lead_submissions_lead", "lead_id", "received_at"),)

    lead_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"))
    source_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("sources.id", ondelete="SET NULL")
    )
    # Checked at commit: a webhook's inbox row is written after its processing (0014).
    inbox_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey(
            "inbox_deliveries.id", ondelete="SET NULL", deferrable=True, initially="DEFERRED"
        )
    )
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    is_resubmission: Mapped[bool] = mapped_column(Boolean, default=False)
    external_id: Mapped[str | None] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(32), default="api")
    attribution: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    normalization_flags: Mapped[list[str]] = mapped_column(ARRAY(String(40)), default=list)
    payload: Mapped[bytes | None] = mapped_column(LargeBinary)


def same_person(by_phone: bool, by_email: bool) -> list[ColumnElement[bool]]:
    """Conditions matching a lead of the same person by phone and/or email hash, bound as
    `:phone` and `:email`, for statements built once (dedup, the returning person's member)."""
    return [
        cond
        for wanted, cond in (
            (by_phone, Lead.phone_hash == bindparam("phone")),
            (by_email, Lead.email_hash == bindparam("email")),
        )
        if wanted
    ]
