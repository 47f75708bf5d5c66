"""Consent evidence, revocations, suppression list.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TS = sa.TIMESTAMP(timezone=True)


def _org(ondelete: str) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(
        "organization_id",
        sa.Uuid(),
        sa.ForeignKey("organizations.id", ondelete=ondelete),
        nullable=False,
    )


def upgrade() -> None:
    op.create_table(
        "consent_disclosures",
        sa.Column("id", sa.Uuid(), primary_key=True),
        _org("RESTRICT"),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("text", sa.LargeBinary(), nullable=False),
        sa.Column("source_id", sa.Uuid()),
        sa.Column("form_id", sa.String(200)),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("first_seen_at", TS, server_default=sa.func.now(), nullable=False),
        sa.UniqueConstraint(
            "organization_id", "sha256", name="uq_consent_disclosures_organization_id_sha256"
        ),
    )
    op.create_index(
        "ix_consent_disclosures_organization_id", "consent_disclosures", ["organization_id"]
    )
    op.create_table(
        "consent_events",
        sa.Column("id", sa.Uuid(), primary_key=True),
        _org("RESTRICT"),
        sa.Column("lead_id", sa.Uuid(), sa.ForeignKey("leads.id", ondelete="SET NULL")),
        sa.Column("phone_hash", sa.String(64)),
        sa.Column("email_hash", sa.String(64)),
        sa.Column("channel", sa.String(8), nullable=False),
        sa.Column("purpose", sa.String(16), nullable=False),
        sa.Column("decision", sa.String(12), nullable=False),
        sa.Column(
            "disclosure_id",
            sa.Uuid(),
            sa.ForeignKey("consent_disclosures.id", ondelete="RESTRICT"),
        ),
        sa.Column("seller", sa.String(200)),
        sa.Column("form_id", sa.String(200)),
        sa.Column("method", sa.String(20)),
        sa.Column("origin", sa.String(20), nullable=False),
        sa.Column("via", sa.String(12)),
        sa.Column("keyword", sa.String(16)),
        sa.Column("source_id", sa.Uuid()),
        sa.Column("actor_key_id", sa.Uuid()),
        sa.Column("evidence", sa.LargeBinary(), nullable=False),
        sa.Column("captured_at", TS, nullable=False),
        sa.Column("created_at", TS, server_default=sa.func.now(), nullable=False),
        sa.Column("retain_until", TS, nullable=False),
        sa.CheckConstraint(
            "channel IN ('voice', 'sms', 'email')", name="ck_consent_events_channel"
        ),
        sa.CheckConstraint(
            "purpose IN ('scheduling', 'marketing')", name="ck_consent_events_purpose"
        ),
        sa.CheckConstraint(
            "decision IN ('granted', 'denied', 'revoked', 'incomplete')",
            name="ck_consent_events_decision",
        ),
        sa.CheckConstraint(
            "via IS NULL OR via IN ('sms_reply', 'call', 'email', 'form', 'agent', 'api')",
            name="ck_consent_events_via",
        ),
    )
    op.create_index("ix_consent_events_organization_id", "consent_events", ["organization_id"])
    op.create_index("ix_consent_events_lead", "consent_events", ["lead_id", "captured_at"])
    op.create_index(
        "ix_consent_events_org_phone", "consent_events", ["organization_id", "phone_hash"]
    )
    op.create_index(
        "ix_consent_events_org_email", "consent_events", ["organization_id", "email_hash"]
    )
    # Append-only, with two exceptions: the ON DELETE SET NULL of an erased lead (nothing
    # else may change), and removing rows whose 5-year retention has passed.
    op.execute(
        """
        CREATE FUNCTION consent_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF TG_OP = 'UPDATE' AND OLD.lead_id IS NOT NULL AND NEW.lead_id IS NULL
             AND (to_jsonb(NEW) - 'lead_id') = (to_jsonb(OLD) - 'lead_id') THEN
            RETURN NEW;
          END IF;
          IF TG_OP = 'DELETE' AND OLD.retain_until < now() THEN
            RETURN OLD;
          END IF;
          RAISE EXCEPTION 'consent_events is append-only (% refused)', TG_OP
            USING ERRCODE = 'insufficient_privilege';
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER consent_events_append_only BEFORE UPDATE OR DELETE ON consent_events "
        "FOR EACH ROW EXECUTE FUNCTION consent_events_append_only()"
    )
    op.execute(
        "CREATE TRIGGER consent_events_no_truncate BEFORE TRUNCATE ON consent_events "
        "FOR EACH STATEMENT EXECUTE FUNCTION consent_events_append_only()"
    )
    op.create_table(
        "suppressions",
        sa.Column("id", sa.Uuid(), primary_key=True),
        _org("CASCADE"),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("value_hash", sa.String(64), nullable=False),
        sa.Column("channels", pg.ARRAY(sa.String(8)), nullable=False),
        sa.Column("via", sa.String(12)),
        sa.Column("created_at", TS, server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.UniqueConstraint(
            "organization_id",
            "kind",
            "value_hash",
            name="uq_suppressions_organization_id_kind_value_hash",
        ),
        sa.CheckConstraint("kind IN ('phone', 'email')", name="ck_suppressions_kind"),
    )
    op.create_index("ix_suppressions_organization_id", "suppressions", ["organization_id"])


def downgrade() -> None:
    op.drop_table("suppressions")
    op.drop_table("consent_events")
    op.execute("DROP FUNCTION consent_events_append_only()")
    op.drop_table("consent_disclosures")
