"""Outbound webhooks, appointments, lead events.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TS = postgresql.TIMESTAMP(timezone=True)


def _org(table: str) -> list[sa.SchemaItem]:
    return [
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=f"fk_{table}_organization_id_organizations",
            ondelete="CASCADE",
        ),
    ]


def _lead_fk(table: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["lead_id"], ["leads.id"], name=f"fk_{table}_lead_id_leads", ondelete=ondelete
    )


def upgrade() -> None:
    op.create_table(
        "webhook_subscriptions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=True),
        sa.Column("event_types", postgresql.ARRAY(sa.String(length=40)), nullable=False),
        sa.Column("secret_enc", sa.LargeBinary(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("disabled_reason", sa.String(length=200), nullable=True),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("created_at", TS, server_default=sa.text("now()"), nullable=False),
        *_org("webhook_subscriptions"),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_subscriptions"),
    )
    op.create_index(
        "ix_webhook_subscriptions_organization_id", "webhook_subscriptions", ["organization_id"]
    )
    op.create_table(
        "webhook_messages",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("event_type", sa.String(length=40), nullable=False),
        sa.Column("lead_id", sa.Uuid(), nullable=True),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        *_org("webhook_messages"),
        _lead_fk("webhook_messages", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_messages"),
    )
    op.create_index("ix_webhook_messages_organization_id", "webhook_messages", ["organization_id"])
    op.create_index("ix_webhook_messages_lead_id", "webhook_messages", ["lead_id"])
    op.create_index(
        "ix_webhook_messages_org_created", "webhook_messages", ["organization_id", "created_at"]
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("message_id", sa.Uuid(), nullable=False),
        sa.Column("subscription_id", sa.Uuid(), nullable=False),
        sa.Column("webhook_id", sa.String(length=100), nullable=False),
        sa.Column("event_type", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.SmallInteger(), nullable=False),
        sa.Column("redeliveries", sa.SmallInteger(), nullable=False),
        sa.Column("last_status_code", sa.SmallInteger(), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("last_attempt_at", TS, nullable=True),
        sa.Column("next_attempt_at", TS, nullable=True),
        sa.Column("delivered_at", TS, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        *_org("webhook_deliveries"),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["webhook_messages.id"],
            name="fk_webhook_deliveries_message_id_webhook_messages",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["webhook_subscriptions.id"],
            name="fk_webhook_deliveries_subscription_id_webhook_subscriptions",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_deliveries"),
        sa.UniqueConstraint(
            "message_id",
            "subscription_id",
            name="uq_webhook_deliveries_message_id_subscription_id",
        ),
        sa.UniqueConstraint("webhook_id", name="uq_webhook_deliveries_webhook_id"),
    )
    op.create_index(
        "ix_webhook_deliveries_organization_id", "webhook_deliveries", ["organization_id"]
    )
    op.create_index(
        "ix_webhook_deliveries_org_created", "webhook_deliveries", ["organization_id", "created_at"]
    )
    op.create_index(
        "ix_webhook_deliveries_subscription", "webhook_deliveries", ["subscription_id", "status"]
    )
    op.create_table(
        "lead_events",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("lead_id", sa.Uuid(), nullable=False),
        sa.Column("type", sa.String(length=40), nullable=False),
        sa.Column("data", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("occurred_at", TS, nullable=False),
        *_org("lead_events"),
        _lead_fk("lead_events", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_lead_events"),
    )
    op.create_index("ix_lead_events_organization_id", "lead_events", ["organization_id"])
    op.create_index("ix_lead_events_lead_occurred", "lead_events", ["lead_id", "occurred_at", "id"])
    op.create_table(
        "appointments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("lead_id", sa.Uuid(), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("cancellation_reason", sa.String(length=64), nullable=True),
        sa.Column("location", sa.String(length=200), nullable=True),
        sa.Column("provider", sa.String(length=200), nullable=True),
        sa.Column("service", sa.String(length=200), nullable=True),
        sa.Column("start", TS, nullable=True),
        sa.Column("end", TS, nullable=True),
        sa.Column("source_version", sa.String(length=64), nullable=True),
        sa.Column("source_updated_at", TS, nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("created_at", TS, server_default=sa.text("now()"), nullable=False),
        *_org("appointments"),
        _lead_fk("appointments", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_appointments"),
    )
    op.create_index("ix_appointments_organization_id", "appointments", ["organization_id"])
    op.create_index("ix_appointments_lead", "appointments", ["lead_id", "created_at"])
    op.create_index(
        "uq_appointments_org_external_id",
        "appointments",
        ["organization_id", "external_id"],
        unique=True,
        postgresql_where=sa.text("external_id IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_table("appointments")
    op.drop_table("lead_events")
    op.drop_table("webhook_deliveries")
    op.drop_table("webhook_messages")
    op.drop_table("webhook_subscriptions")
