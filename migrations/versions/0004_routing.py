"""Routing: teams, members, rule sets, rotation state.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TS = postgresql.TIMESTAMP(timezone=True)
JSONB = postgresql.JSONB(astext_type=sa.Text())


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


def _stamps() -> list[sa.Column[object]]:
    return [
        sa.Column("created_at", TS, server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "teams",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("services", postgresql.ARRAY(sa.String(64)), nullable=False),
        sa.Column("location_ids", postgresql.ARRAY(sa.String(64)), nullable=False),
        sa.Column("languages", postgresql.ARRAY(sa.String(16)), nullable=False),
        sa.Column("hours", JSONB, nullable=True),
        sa.Column("time_zone", sa.String(64), nullable=False),
        sa.Column("holidays", postgresql.ARRAY(sa.String(10)), nullable=False),
        sa.Column("sla_minutes", JSONB, nullable=False),
        sa.Column("capacity_per_member", sa.Integer(), nullable=True),
        sa.Column("strategy", sa.String(16), nullable=False),
        sa.Column("overflow_team_id", sa.Uuid(), nullable=True),
        sa.Column("is_urgent_team", sa.Boolean(), nullable=False),
        *_stamps(),
        *_org("teams"),
        sa.ForeignKeyConstraint(
            ["overflow_team_id"],
            ["teams.id"],
            name="fk_teams_overflow_team_id_teams",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_teams"),
    )
    op.create_index("ix_teams_organization_id", "teams", ["organization_id"])
    op.create_table(
        "members",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("team_id", sa.Uuid(), nullable=False),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("external_id", sa.String(200), nullable=True),
        sa.Column("languages", postgresql.ARRAY(sa.String(16)), nullable=False),
        sa.Column("weight", sa.Integer(), nullable=False),
        sa.Column("daily_cap", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("away_until", TS, nullable=True),
        *_stamps(),
        *_org("members"),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name="fk_members_team_id_teams", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_members"),
        sa.UniqueConstraint("organization_id", "external_id", name="uq_members_org_external_id"),
    )
    op.create_index("ix_members_organization_id", "members", ["organization_id"])
    op.create_index("ix_members_team", "members", ["team_id", "created_at"])
    op.create_table(
        "rulesets",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("rules", JSONB, nullable=False),
        sa.Column("published_at", TS, nullable=True),
        *_stamps(),
        *_org("rulesets"),
        sa.PrimaryKeyConstraint("id", name="pk_rulesets"),
        sa.UniqueConstraint("organization_id", "version", name="uq_rulesets_org_version"),
    )
    op.create_index("ix_rulesets_organization_id", "rulesets", ["organization_id"])
    op.create_index(
        "ix_rulesets_one_published",
        "rulesets",
        ["organization_id"],
        unique=True,
        postgresql_where=sa.text("status = 'published'"),
    )
    op.create_table(
        "team_rotations",
        sa.Column("team_id", sa.Uuid(), nullable=False),
        sa.Column("state", JSONB, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        *_org("team_rotations"),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["teams.id"],
            name="fk_team_rotations_team_id_teams",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("team_id", name="pk_team_rotations"),
    )
    op.create_index("ix_team_rotations_organization_id", "team_rotations", ["organization_id"])
    # Per-member load (open leads, assigned today) is counted from leads on every decision.
    op.create_index(
        "ix_leads_member_status",
        "leads",
        ["member_id", "status"],
        postgresql_where=sa.text("member_id IS NOT NULL"),
    )
    op.create_index(
        "ix_leads_member_routed",
        "leads",
        ["member_id", "routed_at"],
        postgresql_where=sa.text("member_id IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_leads_member_routed", table_name="leads")
    op.drop_index("ix_leads_member_status", table_name="leads")
    op.drop_table("team_rotations")
    op.drop_table("rulesets")
    op.drop_table("members")
    op.drop_table("teams")
