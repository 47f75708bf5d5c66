"""Contact attempts, the pull queue and SLA escalation.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

TS = sa.TIMESTAMP(timezone=True)

OUTCOMES = (
    "connected", "left_voicemail", "no_answer", "busy", "wrong_number", "invalid_number",
    "callback_requested", "do_not_contact_requested", "sms_sent", "sms_replied", "email_sent",
)  # fmt: skip


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    op.create_table(
        "contact_attempts",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column(
            "organization_id",
            sa.Uuid(),
            sa.ForeignKey("organizations.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("lead_id", sa.Uuid(), sa.ForeignKey("leads.id", ondelete="SET NULL")),
        sa.Column("member_id", sa.Uuid()),
        sa.Column("member_external_id", sa.String(200)),
        sa.Column("external_id", sa.String(255)),
        sa.Column("request_hash", sa.String(64)),
        sa.Column("origin", sa.String(16), nullable=False),
        sa.Column("channel", sa.String(8), nullable=False),
        sa.Column("direction", sa.String(8), nullable=False),
        sa.Column("purpose", sa.String(16), nullable=False),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("attempted_at", TS, nullable=False),
        sa.Column("ended_at", TS),
        sa.Column("policy_rule", sa.String(32)),
        sa.Column("notes_enc", sa.LargeBinary()),
        sa.Column("override_reason_enc", sa.LargeBinary()),
        sa.Column("actor_key_id", sa.Uuid()),
        sa.Column("created_at", TS, server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint(
            _in("channel", ("voice", "sms", "email")), name="ck_contact_attempts_channel"
        ),
        sa.CheckConstraint(
            _in("direction", ("outbound", "inbound")), name="ck_contact_attempts_direction"
        ),
        sa.CheckConstraint(
            _in("purpose", ("scheduling", "marketing")), name="ck_contact_attempts_purpose"
        ),
        sa.CheckConstraint(_in("outcome", OUTCOMES), name="ck_contact_attempts_outcome"),
        sa.CheckConstraint(
            _in("origin", ("api", "twilio", "call_tracking")), name="ck_contact_attempts_origin"
        ),
    )
    op.create_index("ix_contact_attempts_organization_id", "contact_attempts", ["organization_id"])
    op.create_index("ix_contact_attempts_lead", "contact_attempts", ["lead_id", "attempted_at"])
    op.create_index(
        "uq_contact_attempts_org_external_id",
        "contact_attempts",
        ["organization_id", "external_id"],
        unique=True,
        postgresql_where=sa.text("external_id IS NOT NULL"),
    )
    # Append-only, except for the ON DELETE SET NULL of a deleted lead (nothing else changes).
    op.execute(
        """
        CREATE FUNCTION contact_attempts_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF TG_OP = 'UPDATE' AND OLD.lead_id IS NOT NULL AND NEW.lead_id IS NULL
             AND (to_jsonb(NEW) - 'lead_id') = (to_jsonb(OLD) - 'lead_id') THEN
            RETURN NEW;
          END IF;
          RAISE EXCEPTION 'contact_attempts is append-only (% refused)', TG_OP
            USING ERRCODE = 'insufficient_privilege';
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER contact_attempts_append_only BEFORE UPDATE OR DELETE ON contact_attempts "
        "FOR EACH ROW EXECUTE FUNCTION contact_attempts_append_only()"
    )
    op.execute(
        "CREATE TRIGGER contact_attempts_no_truncate BEFORE TRUNCATE ON contact_attempts "
        "FOR EACH STATEMENT EXECUTE FUNCTION contact_attempts_append_only()"
    )

    op.add_column("leads", sa.Column("claimed_at", TS))
    op.add_column("leads", sa.Column("escalation_due_at", TS))
    # The pull queue: open, unclaimed leads of a team.
    op.create_index(
        "ix_leads_handoff_queue",
        "leads",
        ["organization_id", "team_id"],
        postgresql_where=sa.text("status = 'routed' AND claimed_at IS NULL"),
    )
    # The SLA sweep: leads waiting for a first attempt, by due time.
    op.create_index(
        "ix_leads_sla_sweep",
        "leads",
        ["sla_due_at"],
        postgresql_where=sa.text(
            "first_attempt_at IS NULL AND sla_breached_at IS NULL AND sla_due_at IS NOT NULL"
        ),
    )
    op.create_index(
        "ix_leads_escalation_due",
        "leads",
        ["escalation_due_at"],
        postgresql_where=sa.text("escalation_due_at IS NOT NULL"),
    )
    op.add_column(
        "teams",
        sa.Column("max_escalations", sa.Integer(), server_default=sa.text("2"), nullable=False),
    )


def downgrade() -> None:
    op.drop_column("teams", "max_escalations")
    op.drop_index("ix_leads_escalation_due", table_name="leads")
    op.drop_index("ix_leads_sla_sweep", table_name="leads")
    op.drop_index("ix_leads_handoff_queue", table_name="leads")
    op.drop_column("leads", "escalation_due_at")
    op.drop_column("leads", "claimed_at")
    op.drop_table("contact_attempts")
    op.execute("DROP FUNCTION contact_attempts_append_only()")
