from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import (
    ForeignKey,
    Index,
    LargeBinary,
    SmallInteger,
    String,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, IdMixin, utcnow
from app.tenancy import TenantMixin


class InboxDelivery(IdMixin, TenantMixin, Base):
    """An authenticated delivery, stored raw with its answer in its leads' transaction, or
    alone if their processing fails (nothing lost)."""

    __tablename__ = "inbox_deliveries"
    __label__ = "inbox delivery"
    __table_args__ = (
        UniqueConstraint("source_id", "event_id"),
        Index("ix_inbox_deliveries_org_status", "organization_id", "status", "received_at"),
        # GET /v1/inbox's keyset (newest first, the id breaking ties), unfiltered or by source
        Index("ix_inbox_deliveries_org_received", "organization_id", "received_at", "id"),
    )

    source_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    event_id: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(24))  # processed|quarantined|pending_retrieval
    reason: Mapped[str | None] = mapped_column(String(500))
    content_type: Mapped[str | None] = mapped_column(String(200))
    headers: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    # the query parameters a replay needs (app.intake.receive.stored_query)
    query: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    # NULL once dropped by erasure or retention (app.privacy), at `body_dropped_at`
    body: Mapped[bytes | None] = mapped_column(LargeBinary)
    body_dropped_at: Mapped[dt.datetime | None]
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    processed_at: Mapped[dt.datetime | None]
    response_status: Mapped[int] = mapped_column(SmallInteger, default=200)
    response_body: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    replay_count: Mapped[int] = mapped_column(SmallInteger, default=0)
