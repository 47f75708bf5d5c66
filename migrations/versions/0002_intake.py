"""Intake: sources, raw inbox, leads and submissions, idempotency keys, jobs.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 01:56:59.454495
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=True),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("dedupe_key", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("run_at", postgresql.TIMESTAMP(timezone=True), nullable=False),
        sa.Column("attempts", sa.SmallInteger(), nullable=False),
        sa.Column("max_attempts", sa.SmallInteger(), nullable=False),
        sa.Column("locked_until", postgresql.TIMESTAMP(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=1000), nullable=True),
        sa.Column("created_at", postgresql.TIMESTAMP(timezone=True), nullable=False),
        sa.Column("finished_at", postgresql.TIMESTAMP(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_jobs_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
    )
    op.create_index(
        "ix_jobs_dedupe",
        "jobs",
        ["kind", "dedupe_key"],
        unique=True,
        postgresql_where=sa.text("dedupe_key IS NOT NULL AND status IN ('queued', 'running')"),
    )
    op.create_index(
        "ix_jobs_due",
        "jobs",
        ["run_at"],
        unique=False,
        postgresql_where=sa.text("status = 'queued'"),
    )
    op.create_table(
        "sources",
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("settings_enc", sa.LargeBinary(), nullable=False),
        sa.Column("public_settings", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("mapping", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("default_service", sa.String(length=64), nullable=True),
        sa.Column("default_location_id", sa.Uuid(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("updated_at", postgresql.TIMESTAMP(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at",
            postgresql.TIMESTAMP(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_sources_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sources")),
    )
    op.create_index(
        op.f("ix_sources_organization_id"), "sources", ["organization_id"], unique=False
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("api_key_id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("response_status", sa.SmallInteger(), nullable=False),
        sa.Column("response_body", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_at", postgresql.TIMESTAMP(timezone=True), nullable=False),
        sa.Column("expires_at", postgresql.TIMESTAMP(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["api_key_id"],
            ["api_keys.id"],
            name=op.f("fk_idempotency_keys_api_key_id_api_keys"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_idempotency_keys_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idempotency_keys")),
        sa.UniqueConstraint("api_key_id", "key", name=op.f("uq_idempotency_keys_api_key_id_key")),
    )
    op.create_index(
        op.f("ix_idempotency_keys_organization_id"),
        "idempotency_keys",
        ["organization_id"],
        unique=False,
    )
    op.create_table(
        "inbox_deliveries",
        sa.Column("source_id", sa.Uuid(), nullable=False),
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("content_type", sa.String(length=200), nullable=True),
        sa.Column("headers", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("received_at", postgresql.TIMESTAMP(timezone=True), nullable=False),
        sa.Column("processed_at", postgresql.TIMESTAMP(timezone=True), nullable=True),
        sa.Column("response_status", sa.SmallInteger(), nullable=False),
        sa.Column("response_body", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("replay_count", sa.SmallInteger(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_inbox_deliveries_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["sources.id"],
            name=op.f("fk_inbox_deliveries_source_id_sources"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbox_deliveries")),
        sa.UniqueConstraint(
            "source_id", "event_id", name=op.f("uq_inbox_deliveries_source_id_event_id")
        ),
    )
    op.create_index(
        "ix_inbox_deliveries_org_status",
        "inbox_deliveries",
        ["organization_id", "status", "received_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_inbox_deliveries_organization_id"),
        "inbox_deliveries",
        ["organization_id"],
        unique=False,
    )
    op.create_table(
        "leads",
        sa.Column("source_id", sa.Uuid(), nullable=True),
        sa.Column("received_at", postgresql.TIMESTAMP(timezone=True), nullable=False),
        sa.Column("last_submitted_at", postgresql.TIMESTAMP(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("is_test", sa.Boolean(), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=True),
        sa.Column("pii", sa.LargeBinary(), nullable=True),
        sa.Column("phone_hash", sa.String(length=64), nullable=True),
        sa.Column("email_hash", sa.String(length=64), nullable=True),
        sa.Column("postal_code", sa.String(length=10), nullable=True),
        sa.Column("state", sa.String(length=2), nullable=True),
        sa.Column("phone_state", sa.String(length=2), nullable=True),
        sa.Column("time_zone", sa.String(length=64), nullable=True),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("normalization_flags", postgresql.ARRAY(sa.String(length=40)), nullable=False),
        sa.Column("service_requested", sa.String(length=200), nullable=True),
        sa.Column("urgency_requested", sa.String(length=16), nullable=True),
        sa.Column("requested_timeframe", sa.String(length=200), nullable=True),
        sa.Column("preferred_contact_method", sa.String(length=8), nullable=True),
        sa.Column("preferred_contact_time", sa.String(length=200), nullable=True),
        sa.Column("preferred_location", sa.String(length=200), nullable=True),
        sa.Column("language", sa.String(length=16), nullable=True),
        sa.Column("insurance_plan", sa.String(length=200), nullable=True),
        sa.Column("new_patient", sa.Boolean(), nullable=True),
        sa.Column("attribution", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("resubmission_count", sa.Integer(), nullable=False),
        sa.Column("service_code", sa.String(length=64), nullable=True),
        sa.Column("location_id", sa.Uuid(), nullable=True),
        sa.Column("distance_miles", sa.Float(), nullable=True),
        sa.Column("urgency", sa.String(length=16), nullable=True),
        sa.Column("emergency", sa.Boolean(), nullable=False),
        sa.Column("qualified", sa.Boolean(), nullable=True),
        sa.Column("score", sa.SmallInteger(), nullable=True),
        sa.Column("score_band", sa.String(length=8), nullable=True),
        sa.Column("assessment", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("scoring_version", sa.String(length=32), nullable=True),
        sa.Column("team_id", sa.Uuid(), nullable=True),
        sa.Column("member_id", sa.Uuid(), nullable=True),
        sa.Column("ruleset_version", sa.Integer(), nullable=True),
        sa.Column("rule_id", sa.String(length=64), nullable=True),
        sa.Column("routing_trace", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("routed_at", postgresql.TIMESTAMP(timezone=True), nullable=True),
        sa.Column("callback_at", postgresql.TIMESTAMP(timezone=True), nullable=True),
        sa.Column("sla_due_at", postgresql.TIMESTAMP(timezone=True), nullable=True),
        sa.Column("do_not_contact", postgresql.ARRAY(sa.String(length=8)), nullable=False),
        sa.Column("first_attempt_at", postgresql.TIMESTAMP(timezone=True), nullable=True),
        sa.Column("first_connected_at", postgresql.TIMESTAMP(timezone=True), nullable=True),
        sa.Column("sla_breached_at", postgresql.TIMESTAMP(timezone=True), nullable=True),
        sa.Column("escalation_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("erased_at", postgresql.TIMESTAMP(timezone=True), nullable=True),
        sa.Column("updated_at", postgresql.TIMESTAMP(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_leads_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["sources.id"],
            name=op.f("fk_leads_source_id_sources"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_leads")),
    )
    op.create_index(
        "ix_leads_org_email_hash",
        "leads",
        ["organization_id", "email_hash", "received_at"],
        unique=False,
    )
    op.create_index(
        "ix_leads_org_phone_hash",
        "leads",
        ["organization_id", "phone_hash", "received_at"],
        unique=False,
    )
    op.create_index(
        "ix_leads_org_received", "leads", ["organization_id", "received_at"], unique=False
    )
    op.create_index("ix_leads_org_status", "leads", ["organization_id", "status"], unique=False)
    op.create_index("ix_leads_source_external", "leads", ["source_id", "external_id"], unique=False)
    op.create_index(op.f("ix_leads_organization_id"), "leads", ["organization_id"], unique=False)
    op.create_table(
        "lead_submissions",
        sa.Column("lead_id", sa.Uuid(), nullable=False),
        sa.Column("source_id", sa.Uuid(), nullable=True),
        sa.Column("inbox_id", sa.Uuid(), nullable=True),
        sa.Column("received_at", postgresql.TIMESTAMP(timezone=True), nullable=False),
        sa.Column("is_resubmission", sa.Boolean(), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=True),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("attribution", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("normalization_flags", postgresql.ARRAY(sa.String(length=40)), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["inbox_id"],
            ["inbox_deliveries.id"],
            name=op.f("fk_lead_submissions_inbox_id_inbox_deliveries"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["lead_id"],
            ["leads.id"],
            name=op.f("fk_lead_submissions_lead_id_leads"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_lead_submissions_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["sources.id"],
            name=op.f("fk_lead_submissions_source_id_sources"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lead_submissions")),
    )
    op.create_index(
        "ix_lead_submissions_lead", "lead_submissions", ["lead_id", "received_at"], unique=False
    )
    op.create_index(
        op.f("ix_lead_submissions_organization_id"),
        "lead_submissions",
        ["organization_id"],
        unique=False,
    )
    op.drop_index(op.f("ix_audit_events_target"), table_name="audit_events")


def downgrade() -> None:
    op.create_index(
        op.f("ix_audit_events_target"),
        "audit_events",
        ["organization_id", "target_type", "target_id"],
        unique=False,
    )
    op.drop_index(op.f("ix_lead_submissions_organization_id"), table_name="lead_submissions")
    op.drop_index("ix_lead_submissions_lead", table_name="lead_submissions")
    op.drop_table("lead_submissions")
    op.drop_index(op.f("ix_leads_organization_id"), table_name="leads")
    op.drop_index("ix_leads_source_external", table_name="leads")
    op.drop_index("ix_leads_org_status", table_name="leads")
    op.drop_index("ix_leads_org_received", table_name="leads")
    op.drop_index("ix_leads_org_phone_hash", table_name="leads")
    op.drop_index("ix_leads_org_email_hash", table_name="leads")
    op.drop_table("leads")
    op.drop_index(op.f("ix_inbox_deliveries_organization_id"), table_name="inbox_deliveries")
    op.drop_index("ix_inbox_deliveries_org_status", table_name="inbox_deliveries")
    op.drop_table("inbox_deliveries")
    op.drop_index(op.f("ix_idempotency_keys_organization_id"), table_name="idempotency_keys")
    op.drop_table("idempotency_keys")
    op.drop_index(op.f("ix_sources_organization_id"), table_name="sources")
    op.drop_table("sources")
    op.drop_index("ix_jobs_due", table_name="jobs", postgresql_where=sa.text("status = 'queued'"))
    op.drop_index(
        "ix_jobs_dedupe",
        table_name="jobs",
        postgresql_where=sa.text("dedupe_key IS NOT NULL AND status IN ('queued', 'running')"),
    )
    op.drop_table("jobs")
