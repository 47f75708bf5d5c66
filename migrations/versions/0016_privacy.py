"""Erasure and retention: erasure requests, droppable inbox bodies, erasable attempt notes.

- `erasure_requests`: a person's request to erase their leads, kept 24 months (CCPA §7101)
  with its timestamps and counts; the identifiers' keyed hashes only while it is pending.
- `inbox_deliveries.body` may be NULL: erasure and retention drop raw bodies, and
  `body_dropped_at` says when.
- `contact_attempts` stays append-only, except that erasure may null its two encrypted free
  text fields (notes, override reason) while nothing else changes.

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

TS = sa.TIMESTAMP(timezone=True)

_ATTEMPTS_APPEND_ONLY = """
CREATE OR REPLACE FUNCTION contact_attempts_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND OLD.lead_id IS NOT NULL AND NEW.lead_id IS NULL
     AND (to_jsonb(NEW) - 'lead_id') = (to_jsonb(OLD) - 'lead_id') THEN
    RETURN NEW;
  END IF;
  {erasure}
  RAISE EXCEPTION 'contact_attempts is append-only (% refused)', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END $$
"""
# Erasure: the free text goes, the record of the attempt (who, when, outcome) stays.
_ERASURE = """IF TG_OP = 'UPDATE' AND NEW.notes_enc IS NULL AND NEW.override_reason_enc IS NULL
     AND (to_jsonb(NEW) - 'notes_enc' - 'override_reason_enc')
       = (to_jsonb(OLD) - 'notes_enc' - 'override_reason_enc') THEN
    RETURN NEW;
  END IF;"""


def upgrade() -> None:
    op.create_table(
        "erasure_requests",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column(
            "organization_id",
            sa.Uuid(),
            sa.ForeignKey("organizations.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("by_phone", sa.Boolean(), nullable=False),
        sa.Column("by_email", sa.Boolean(), nullable=False),
        sa.Column("phone_hash", sa.String(64)),
        sa.Column("email_hash", sa.String(64)),
        sa.Column("received_at", TS, nullable=False),
        sa.Column("verified_at", TS, nullable=False),
        sa.Column("verified_by", sa.String(200), nullable=False),
        sa.Column("verification_note_enc", sa.LargeBinary()),
        sa.Column("completed_at", TS),
        sa.Column("leads_erased", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("actor_key_id", sa.Uuid()),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        sa.Column("retain_until", TS, nullable=False),
        sa.CheckConstraint("status IN ('queued', 'completed')", name="ck_erasure_requests_status"),
    )
    op.create_index("ix_erasure_requests_organization_id", "erasure_requests", ["organization_id"])
    op.create_index(
        "ix_erasure_requests_org_received", "erasure_requests", ["organization_id", "received_at"]
    )
    op.create_index(
        "ix_erasure_requests_pending",
        "erasure_requests",
        ["received_at"],
        postgresql_where=sa.text("completed_at IS NULL"),
    )
    op.alter_column("inbox_deliveries", "body", existing_type=sa.LargeBinary(), nullable=True)
    op.add_column("inbox_deliveries", sa.Column("body_dropped_at", TS))
    op.create_index(
        "ix_inbox_deliveries_body_kept",
        "inbox_deliveries",
        ["received_at"],
        postgresql_where=sa.text("body_dropped_at IS NULL"),
    )
    op.create_index(
        "ix_leads_retention",
        "leads",
        ["last_submitted_at"],
        postgresql_where=sa.text("erased_at IS NULL"),
    )
    op.execute(_ATTEMPTS_APPEND_ONLY.format(erasure=_ERASURE))


def downgrade() -> None:
    op.execute(_ATTEMPTS_APPEND_ONLY.format(erasure=""))
    op.drop_index("ix_leads_retention", table_name="leads")
    op.drop_index("ix_inbox_deliveries_body_kept", table_name="inbox_deliveries")
    op.drop_column("inbox_deliveries", "body_dropped_at")
    # Bodies dropped by erasure or retention cannot come back: an empty body stands for them.
    op.execute("UPDATE inbox_deliveries SET body = ''::bytea WHERE body IS NULL")
    op.alter_column("inbox_deliveries", "body", existing_type=sa.LargeBinary(), nullable=False)
    op.drop_table("erasure_requests")
