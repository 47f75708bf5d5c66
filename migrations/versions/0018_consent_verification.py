"""Consent verification: TrustedForm and Jornaya credentials, each check's outcome, and the
lead's `consent_unverified` flag.

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

TS = sa.TIMESTAMP(timezone=True)
PROVIDER = "provider IN ('trustedform', 'jornaya')"


def upgrade() -> None:
    op.create_table(
        "integration_credentials",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column(
            "organization_id",
            sa.Uuid(),
            sa.ForeignKey("organizations.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("provider", sa.String(16), nullable=False),
        sa.Column("secret_enc", sa.LargeBinary(), nullable=False),
        sa.Column("actor_key_id", sa.Uuid()),
        sa.Column("updated_at", TS, nullable=False),
        sa.CheckConstraint(PROVIDER, name="ck_integration_credentials_provider"),
    )
    op.create_index(
        "ix_integration_credentials_organization_id",
        "integration_credentials",
        ["organization_id"],
    )
    op.create_index(
        "uq_integration_credentials_org_provider",
        "integration_credentials",
        ["organization_id", "provider"],
        unique=True,
    )
    op.create_table(
        "consent_verifications",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column(
            "organization_id",
            sa.Uuid(),
            sa.ForeignKey("organizations.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("lead_id", sa.Uuid(), sa.ForeignKey("leads.id", ondelete="SET NULL")),
        sa.Column("provider", sa.String(16), nullable=False),
        sa.Column("reference_hash", sa.String(64), nullable=False),
        sa.Column("reference_enc", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("reason", sa.String(300)),
        sa.Column("facts_enc", sa.LargeBinary()),
        sa.Column("attempts", sa.SmallInteger(), nullable=False),
        sa.Column("requested_at", TS, nullable=False),
        sa.Column("checked_at", TS),
        sa.Column("deadline", TS, nullable=False),
        sa.Column("retain_until", TS, nullable=False),
        sa.CheckConstraint(PROVIDER, name="ck_consent_verifications_provider"),
        sa.CheckConstraint(
            "status IN ('pending', 'verified', 'no_match', 'expired', 'error', 'refused')",
            name="ck_consent_verifications_status",
        ),
    )
    op.create_index(
        "ix_consent_verifications_organization_id", "consent_verifications", ["organization_id"]
    )
    op.create_index(
        "uq_consent_verifications_lead_ref",
        "consent_verifications",
        ["organization_id", "lead_id", "provider", "reference_hash"],
        unique=True,
    )
    op.add_column(
        "leads",
        sa.Column("consent_unverified", sa.Boolean(), nullable=False, server_default="false"),
    )


def downgrade() -> None:
    op.drop_column("leads", "consent_unverified")
    op.drop_table("consent_verifications")
    op.drop_table("integration_credentials")
