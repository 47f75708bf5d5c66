"""Availability: schedules, slots and feeds; where leads stand on availability.

Slots are the scheduling system's (FHIR R4 Slot): the free ones of a service at a location
are one range scan of a partial index. Leads carry `availability` ("offered",
"no_availability" or NULL) and the start of the earliest free slot when they were decided;
`lead_metrics` copies both for the reports, and the funnel's rollup gains an `availability`
grouping.

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-25
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

TS = postgresql.TIMESTAMP(timezone=True)


def _revision(name: str) -> ModuleType:
    """An earlier revision's module, whose SQL this one extends."""
    path = Path(__file__).with_name(name)
    spec = importlib.util.spec_from_file_location(f"_lead_router_rev_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_REPORTS = _revision("0008_reports.py")
_ROLLUP = _revision("0010_lead_rollup.py")

_NEW_COLUMNS = ("availability", "first_slot_at")


def _metrics_function(extra: tuple[str, ...]) -> str:
    columns = _REPORTS.LEAD_COLUMNS + "".join(f", {c}" for c in extra)
    values = _REPORTS._lead_values("NEW") + "".join(f", NEW.{c}" for c in extra)
    upsert = ", ".join(f"{c} = EXCLUDED.{c}" for c in columns.replace(" ", "").split(",")[1:])
    return f"""
CREATE OR REPLACE FUNCTION lead_metrics_from_lead() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO lead_metrics ({columns}) VALUES ({values})
    ON CONFLICT (lead_id) DO UPDATE SET {upsert};
    RETURN NULL;
END $$
"""  # noqa: S608 - built from constants


def _metrics_trigger(extra: tuple[str, ...]) -> str:
    changed = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in (*_REPORTS.WATCHED, *extra))
    return f"""CREATE TRIGGER lead_metrics_update AFTER UPDATE ON leads
    FOR EACH ROW WHEN ({changed}) EXECUTE FUNCTION lead_metrics_from_lead()"""


def _with_availability_grouping(sql: str) -> str:
    """0010's rollup functions with `availability` as one more grouping of each lead."""
    out = sql.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION")
    grouping = "('score_band', m.score_band)"
    if grouping in out:
        out = out.replace(grouping, f"{grouping}, ('availability', m.availability)")
    for row in ("OLD", "NEW"):
        out = out.replace(f"{row}.score_band)", f"{row}.score_band, {row}.availability)")
    return out


def _rollup_functions() -> list[str]:
    # lead_rollup_delta, lead_rollup_from_metrics and lead_rollup_rebuild, in that order.
    return [f for f in _ROLLUP.FUNCTIONS if "lead_rollup_" in f and "time_zone()" not in f]


def _create_schedules() -> None:
    op.create_table(
        "availability_schedules",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=False),
        sa.Column("location_id", sa.Uuid(), nullable=False),
        sa.Column("practitioner", sa.String(length=200), nullable=True),
        sa.Column("service_codes", postgresql.ARRAY(sa.String(length=64)), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("source_version", sa.String(length=64), nullable=True),
        sa.Column("source_updated_at", TS, nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", TS, server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"], ["organizations.id"],
            name="fk_availability_schedules_organization_id_organizations", ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["location_id"], ["locations.id"],
            name="fk_availability_schedules_location_id_locations", ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_availability_schedules"),
        sa.UniqueConstraint(
            "organization_id", "external_id",
            name="uq_availability_schedules_organization_id_external_id",
        ),
    )  # fmt: skip
    op.create_index(
        "ix_availability_schedules_organization_id", "availability_schedules", ["organization_id"]
    )


def _create_slots() -> None:
    op.create_table(
        "availability_slots",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=False),
        sa.Column("schedule_id", sa.Uuid(), nullable=False),
        sa.Column("location_id", sa.Uuid(), nullable=False),
        sa.Column("practitioner", sa.String(length=200), nullable=True),
        sa.Column("service_code", sa.String(length=64), nullable=True),
        sa.Column("appointment_type", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("start", TS, nullable=False),
        sa.Column("end", TS, nullable=False),
        sa.Column("held_until", TS, nullable=True),
        sa.Column("held_for_lead", sa.Uuid(), nullable=True),
        sa.Column("appointment_id", sa.Uuid(), nullable=True),
        sa.Column("pulled", sa.Boolean(), nullable=False),
        sa.Column("source_version", sa.String(length=64), nullable=True),
        sa.Column("source_updated_at", TS, nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"], ["organizations.id"],
            name="fk_availability_slots_organization_id_organizations", ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["schedule_id"], ["availability_schedules.id"],
            name="fk_availability_slots_schedule_id_availability_schedules", ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["location_id"], ["locations.id"],
            name="fk_availability_slots_location_id_locations", ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_availability_slots"),
        sa.UniqueConstraint(
            "organization_id", "external_id",
            name="uq_availability_slots_organization_id_external_id",
        ),
    )  # fmt: skip
    op.create_index(
        "ix_availability_slots_organization_id", "availability_slots", ["organization_id"]
    )
    op.create_index("ix_availability_slots_schedule", "availability_slots", ["schedule_id"])
    op.create_index(
        "ix_availability_slots_free",
        "availability_slots",
        ["organization_id", "location_id", "service_code", "start"],
        postgresql_where=sa.text("status = 'free'"),
        postgresql_include=["appointment_type", "held_until"],
    )


def _create_feeds() -> None:
    op.create_table(
        "availability_feeds",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("base_url", sa.String(length=500), nullable=False),
        sa.Column("poll_minutes", sa.Float(), nullable=False),
        sa.Column("days_ahead", sa.Integer(), nullable=False),
        sa.Column("next_poll_at", TS, nullable=False),
        sa.Column("last_polled_at", TS, nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("last_slot_count", sa.Integer(), nullable=True),
        sa.Column("updated_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"], ["organizations.id"],
            name="fk_availability_feeds_organization_id_organizations", ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_availability_feeds"),
        sa.UniqueConstraint("organization_id", name="uq_availability_feeds_organization_id"),
    )  # fmt: skip
    op.create_index(
        "ix_availability_feeds_organization_id", "availability_feeds", ["organization_id"]
    )


def _practice_columns() -> None:
    empty = sa.text("'{}'")
    op.add_column(
        "locations",
        sa.Column(
            "scheduler_ids", postgresql.ARRAY(sa.String(200)), server_default=empty, nullable=False
        ),
    )
    for name in ("scheduler_codes", "new_patient_slot_types"):
        op.add_column(
            "services",
            sa.Column(name, postgresql.ARRAY(sa.String(64)), server_default=empty, nullable=False),
        )
    op.add_column(
        "scoring_configs",
        sa.Column(
            "location_preference",
            sa.String(24),
            server_default="earliest_available",
            nullable=False,
        ),
    )
    op.add_column(
        "scoring_configs",
        sa.Column(
            "availability_horizon_days", sa.SmallInteger(), server_default="21", nullable=False
        ),
    )
    op.add_column("scoring_configs", sa.Column("availability_max_miles", sa.Float()))


def upgrade() -> None:
    _create_schedules()
    _create_slots()
    _create_feeds()
    _practice_columns()
    for table in ("leads", "lead_metrics"):
        op.add_column(table, sa.Column("availability", sa.String(16), nullable=True))
        op.add_column(table, sa.Column("first_slot_at", TS, nullable=True))
    op.execute(_metrics_function(_NEW_COLUMNS))
    op.execute("DROP TRIGGER lead_metrics_update ON leads")
    op.execute(_metrics_trigger(_NEW_COLUMNS))
    for statement in _rollup_functions():
        op.execute(_with_availability_grouping(statement))
    # Every lead so far has a NULL availability: its rows under the new grouping.
    op.execute("SELECT lead_rollup_rebuild(id) FROM organizations")


def downgrade() -> None:
    for statement in _rollup_functions():
        op.execute(statement.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION"))
    op.execute("DELETE FROM lead_rollup WHERE dim = 'availability'")
    op.execute("DROP TRIGGER lead_metrics_update ON leads")
    op.execute(_metrics_trigger(()))
    op.execute(_metrics_function(()))
    for table in ("lead_metrics", "leads"):
        op.drop_column(table, "first_slot_at")
        op.drop_column(table, "availability")
    op.drop_column("scoring_configs", "availability_max_miles")
    op.drop_column("scoring_configs", "availability_horizon_days")
    op.drop_column("scoring_configs", "location_preference")
    op.drop_column("services", "new_patient_slot_types")
    op.drop_column("services", "scheduler_codes")
    op.drop_column("locations", "scheduler_ids")
    op.drop_table("availability_feeds")
    op.drop_table("availability_slots")
    op.drop_table("availability_schedules")
