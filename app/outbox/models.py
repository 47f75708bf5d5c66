"""Outbound webhook subscriptions, the outbox, deliveries, and the lead timeline."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Identity,
    Index,
    LargeBinary,
    SmallInteger,
    String,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, IdMixin, TimestampMixin, utcnow
from app.tenancy import TenantMixin


class WebhookSubscription(IdMixin, TimestampMixin, TenantMixin, Base):
    __tablename__ = "webhook_subscriptions"
    __label__ = "webhook subscription"

    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str | None] = mapped_column(String(200))
    event_types: Mapped[list[str]] = mapped_column(ARRAY(String(40)))
    # whsec_… secret, AES-GCM encrypted (app.crypto); shown once at creation
    secret_enc: Mapped[bytes] = mapped_column(LargeBinary)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled_reason: Mapped[str | None] = mapped_column(String(200))
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class WebhookMessage(IdMixin, TenantMixin, Base):
    """The outbox: one row per event, written in the transaction of the change."""

    __tablename__ = "webhook_messages"
    __label__ = "webhook message"
    __table_args__ = (Index("ix_webhook_messages_org_created", "organization_id", "created_at"),)

    event_type: Mapped[str] = mapped_column(String(40))
    lead_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("leads.id", ondelete="SET NULL"), index=True
    )
    # {"type", "timestamp", "data"}: identifiers and codes only, never personal data
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    @property
    def msg_id(self) -> str:
        return self.format_id(self.id)

    @staticmethod
    def format_id(message_id: uuid.UUID) -> str:
        return f"msg_{message_id.hex}"


class WebhookDelivery(IdMixin, TenantMixin, Base):
    """One message to one subscription; its `webhook_id` stays the same across retries."""

    __tablename__ = "webhook_deliveries"
    __label__ = "webhook delivery"
    __table_args__ = (
        UniqueConstraint("message_id", "subscription_id"),
        Index("ix_webhook_deliveries_org_created", "organization_id", "created_at"),
        Index("ix_webhook_deliveries_subscription", "subscription_id", "status"),
    )

    message_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("webhook_messages.id", ondelete="CASCADE")
    )
    subscription_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("webhook_subscriptions.id", ondelete="CASCADE")
    )
    webhook_id: Mapped[str] = mapped_column(String(100), unique=True)
    event_type: Mapped[str] = mapped_column(String(40))
    # pending → (retrying →)* succeeded | dead
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(SmallInteger, default=0)
    redeliveries: Mapped[int] = mapped_column(SmallInteger, default=0)
    last_status_code: Mapped[int | None] = mapped_column(SmallInteger)
    last_error: Mapped[str | None] = mapped_column(String(500))
    last_attempt_at: Mapped[dt.datetime | None]
    next_attempt_at: Mapped[dt.datetime | None]
    delivered_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class LeadEvent(TenantMixin, Base):
    """The lead's timeline: append-only facts (ids and codes), in the order they happened."""

    __tablename__ = "lead_events"
    __table_args__ = (Index("ix_lead_events_lead_occurred", "lead_id", "occurred_at", "id"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    lead_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(40))
    data: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    occurred_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
