"""Teams, members, rule sets and per-team rotation state.

No ORM relationships: members and rotations are loaded with explicit queries, so a
request never triggers a lazy load.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, IdMixin, TimestampMixin, utcnow
from app.tenancy import TenantMixin


class Team(IdMixin, TenantMixin, TimestampMixin, Base):
    __tablename__ = "teams"
    __label__ = "team"

    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32), default="intake")
    services: Mapped[list[str]] = mapped_column(ARRAY(String(64)), default=list)
    location_ids: Mapped[list[str]] = mapped_column(ARRAY(String(64)), default=list)
    languages: Mapped[list[str]] = mapped_column(ARRAY(String(16)), default=list)
    # Weekday intervals as accepted by app.hours.parse_hours; None means always open.
    hours: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")
    holidays: Mapped[list[str]] = mapped_column(ARRAY(String(10)), default=list)
    sla_minutes: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    capacity_per_member: Mapped[int | None] = mapped_column(Integer)
    strategy: Mapped[str] = mapped_column(String(16), default="round_robin")
    overflow_team_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("teams.id", ondelete="SET NULL")
    )
    is_urgent_team: Mapped[bool] = mapped_column(Boolean, default=False)
    # SLA escalations of one lead before it stays where it is (app.outreach.sla).
    max_escalations: Mapped[int] = mapped_column(Integer, default=2, server_default=text("2"))
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Member(IdMixin, TenantMixin, TimestampMixin, Base):
    __tablename__ = "members"
    __label__ = "member"
    __table_args__ = (
        UniqueConstraint("organization_id", "external_id", name="uq_members_org_external_id"),
        Index("ix_members_team", "team_id", "created_at"),
    )

    team_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    display_name: Mapped[str] = mapped_column(String(200))
    external_id: Mapped[str | None] = mapped_column(String(200))
    languages: Mapped[list[str]] = mapped_column(ARRAY(String(16)), default=list)
    weight: Mapped[int] = mapped_column(Integer, default=1)
    daily_cap: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="active")
    away_until: Mapped[dt.datetime | None]
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Ruleset(IdMixin, TenantMixin, TimestampMixin, Base):
    __tablename__ = "rulesets"
    __label__ = "rule set"
    __table_args__ = (
        UniqueConstraint("organization_id", "version", name="uq_rulesets_org_version"),
        # At most one live rule set per organisation, enforced by the database.
        Index(
            "ix_rulesets_one_published",
            "organization_id",
            unique=True,
            postgresql_where=text("status = 'published'"),
        ),
    )

    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(16), default="draft")
    rules: Mapped[list[Any]] = mapped_column(JSONB, default=list)
    published_at: Mapped[dt.datetime | None]
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class TeamRotation(TenantMixin, Base):
    """One row per team; `SELECT … FOR UPDATE` on it serialises member choices."""

    __tablename__ = "team_rotations"

    team_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True
    )
    state: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class RoutingClaim(Base):
    """A member chosen for a lead whose transaction has not committed yet (migration 0011)."""

    __tablename__ = "routing_claims"

    lead_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    member_id: Mapped[uuid.UUID]
    claimed_at: Mapped[dt.datetime]


class MemberLoad(Base):
    """A member's open leads, kept by a trigger on leads (migration 0013)."""

    __tablename__ = "member_loads"

    member_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    organization_id: Mapped[uuid.UUID]
    open_leads: Mapped[int] = mapped_column(Integer)


class MemberRoutedSlot(Base):
    """Leads routed to a member in one quarter hour, the last two days only (migration 0013)."""

    __tablename__ = "member_routed_slots"

    member_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    slot: Mapped[dt.datetime] = mapped_column(primary_key=True)
    organization_id: Mapped[uuid.UUID]
    routed: Mapped[int] = mapped_column(Integer)
