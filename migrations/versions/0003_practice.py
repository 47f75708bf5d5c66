"""Practice model: locations, services, scoring settings.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TS = postgresql.TIMESTAMP(timezone=True)


def _tenant(table: str) -> list[sa.SchemaItem]:
    return [
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f(f"fk_{table}_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
    ]


def upgrade() -> None:
    op.create_table(
        "locations",
        *_tenant("locations"),
        sa.Column("created_at", TS, server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("address", sa.String(length=300), nullable=True),
        sa.Column("city", sa.String(length=100), nullable=True),
        sa.Column("state", sa.String(length=2), nullable=True),
        sa.Column("postal_code", sa.String(length=10), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=False),
        sa.Column("longitude", sa.Float(), nullable=False),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.Column("geo_overridden", sa.Boolean(), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=True),
        sa.Column("hours", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("services", postgresql.ARRAY(sa.String(length=64)), nullable=False),
        sa.Column("accepts_new_patients", sa.Boolean(), nullable=False),
        sa.Column("languages", postgresql.ARRAY(sa.String(length=16)), nullable=False),
        sa.Column("insurance_accepted", postgresql.ARRAY(sa.String(length=200)), nullable=True),
        sa.Column("min_age", sa.SmallInteger(), nullable=True),
        sa.Column("max_age", sa.SmallInteger(), nullable=True),
        sa.Column("service_radius_miles", sa.Float(), nullable=True),
        sa.Column("service_zips", postgresql.ARRAY(sa.String(length=5)), nullable=True),
    )
    op.create_index(
        op.f("ix_locations_organization_id"), "locations", ["organization_id"], unique=False
    )
    op.create_table(
        "services",
        *_tenant("services"),
        sa.Column("created_at", TS, server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("synonyms", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("urgency_phrases", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("red_flag_phrases", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.UniqueConstraint(
            "organization_id", "code", name=op.f("uq_services_organization_id_code")
        ),
    )
    op.create_index(
        op.f("ix_services_organization_id"), "services", ["organization_id"], unique=False
    )
    op.create_table(
        "scoring_configs",
        *_tenant("scoring_configs"),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("weights", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("hot_threshold", sa.SmallInteger(), nullable=False),
        sa.Column("warm_threshold", sa.SmallInteger(), nullable=False),
        sa.Column("red_flag_phrases", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("duplicate_window_hours", sa.Integer(), nullable=False),
        sa.Column("settings_version", sa.Integer(), nullable=False),
        sa.Column("practice_version", sa.Integer(), nullable=False),
        sa.UniqueConstraint("organization_id", name=op.f("uq_scoring_configs_organization_id")),
    )
    op.create_index(
        op.f("ix_scoring_configs_organization_id"),
        "scoring_configs",
        ["organization_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_scoring_configs_organization_id"), table_name="scoring_configs")
    op.drop_table("scoring_configs")
    op.drop_index(op.f("ix_services_organization_id"), table_name="services")
    op.drop_table("services")
    op.drop_index(op.f("ix_locations_organization_id"), table_name="locations")
    op.drop_table("locations")
