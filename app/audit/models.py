from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import BigInteger, ForeignKey, Identity, Index, SmallInteger, String, func
from sqlalchemy.dialects.postgresql import INET, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow


class AuditEvent(Base):
    """Append-only: the database refuses UPDATE, and DELETE of rows younger than six years
    (trigger in the migrations; README: moving older rows out)."""

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_org_created", "organization_id", "created_at", "id"),
        Index("ix_audit_events_org_actor", "organization_id", "actor_key_id", "created_at"),
        # And a GIN index on `details -> 'ids'` (the ids a list read returned; migration).
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    organization_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="RESTRICT"), index=True
    )
    actor_key_id: Mapped[uuid.UUID | None]
    action: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str | None] = mapped_column(String(64))
    target_id: Mapped[str | None] = mapped_column(String(64))
    request_id: Mapped[str | None] = mapped_column(String(128))
    client_ip: Mapped[str | None] = mapped_column(INET)
    details: Mapped[dict[str, object]] = mapped_column(JSONB, default=dict)
    # allowed | refused | not_found | error (app.auth.trail)
    outcome: Mapped[str] = mapped_column(String(16), default="allowed", server_default="allowed")
    status_code: Mapped[int | None] = mapped_column(SmallInteger)
    problem_type: Mapped[str | None] = mapped_column(String(64))
    # The endpoint, e.g. `GET /v1/leads/{lead_id}`: never the ids in the path.
    route: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(server_default=func.now(), default=utcnow)
