"""Contact attempts: append-only evidence of every call, text and email, kept per lead.

The columns `organization_id, lead_id, channel, direction, purpose, attempted_at` are the
contract the contact policy reads (app.consent.service.load_past_attempts).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import get_args

from sqlalchemy import CheckConstraint, ForeignKey, Index, LargeBinary, String, text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, IdMixin, TimestampMixin
from app.outreach.schemas import Outcome
from app.tenancy import TenantMixin

CHANNELS = ("voice", "sms", "email")
DIRECTIONS = ("outbound", "inbound")
PURPOSES = ("scheduling", "marketing", "opt-out-confirmation", "emergency-callback")
# The API's Outcome literal is the one list; the check constraint is built from it.
OUTCOMES: tuple[str, ...] = get_args(Outcome)
# Outcomes that reached nobody: enough of them in a row makes a lead unreachable.
FAILED_OUTCOMES = ("left_voicemail", "no_answer", "busy", "wrong_number", "invalid_number")
ORIGINS = ("api", "twilio", "call_tracking")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class ContactAttempt(IdMixin, TenantMixin, TimestampMixin, Base):
    __tablename__ = "contact_attempts"
    __label__ = "contact attempt"
    __table_args__ = (
        Index("ix_contact_attempts_lead", "lead_id", "attempted_at"),
        # The calling system's id makes retries safe; NULL ids are never deduplicated.
        Index(
            "uq_contact_attempts_org_external_id",
            "organization_id",
            "external_id",
            unique=True,
            postgresql_where=text("external_id IS NOT NULL"),
        ),
        CheckConstraint(_in("channel", CHANNELS), name="channel"),
        CheckConstraint(_in("direction", DIRECTIONS), name="direction"),
        CheckConstraint(_in("purpose", PURPOSES), name="purpose"),
        CheckConstraint(_in("outcome", OUTCOMES), name="outcome"),
        CheckConstraint(_in("origin", ORIGINS), name="origin"),
    )

    # SET NULL, not CASCADE: the attempt is evidence of what was done and outlives the lead.
    lead_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("leads.id", ondelete="SET NULL"))
    # No foreign key: a member leaving the team must not rewrite the record of who called.
    member_id: Mapped[uuid.UUID | None]
    member_external_id: Mapped[str | None] = mapped_column(String(200))
    external_id: Mapped[str | None] = mapped_column(String(255))
    request_hash: Mapped[str | None] = mapped_column(String(64))
    origin: Mapped[str] = mapped_column(String(16), default="api")
    channel: Mapped[str] = mapped_column(String(8))
    direction: Mapped[str] = mapped_column(String(8))
    purpose: Mapped[str] = mapped_column(String(32), default="scheduling")
    outcome: Mapped[str] = mapped_column(String(32))
    attempted_at: Mapped[dt.datetime]
    ended_at: Mapped[dt.datetime | None]
    # The rule the attempt broke when it was let through (admin override, or a call reported
    # after it happened); NULL when the policy allowed it.
    policy_rule: Mapped[str | None] = mapped_column(String(32))
    # The contact rules' version (app/consent/state_rules.json) that judged it (item 11).
    rules_version: Mapped[str | None] = mapped_column(String(32))
    # Free text (may name the patient): notes and the override reason, AES-GCM encrypted.
    notes_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    override_reason_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    actor_key_id: Mapped[uuid.UUID | None]
