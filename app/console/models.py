from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, IdMixin, TimestampMixin
from app.tenancy import TenantMixin


class ConsoleSession(IdMixin, TimestampMixin, TenantMixin, Base):
    """A person signed in to the console with their API key.

    Kept server-side so that signing out, idle expiry and revoking the key end it for good:
    the cookie only carries this row's id, signed.
    """

    __tablename__ = "console_sessions"
    __label__ = "console session"

    api_key_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("api_keys.id", ondelete="CASCADE"), index=True
    )
    last_seen_at: Mapped[dt.datetime]
    ended_at: Mapped[dt.datetime | None]
    # The intake member this person works as in the queue (claims, away/active).
    member_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("members.id", ondelete="SET NULL")
    )
