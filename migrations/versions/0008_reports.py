"""Reports: lead_metrics kept by triggers, and imported ad spend.

`lead_metrics` holds one narrow row per lead with just the facts the reports read. Triggers on
`leads` and `appointments` keep it current in the writer's own transaction, so no other
domain's code needs a hook and a report never sees a half-applied change.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

TS = postgresql.TIMESTAMP(timezone=True)

# The lead columns a report reads. The UPDATE trigger fires only when one of them changed, so
# the many writes that touch nothing reported (status, routing trace, pii) stay as cheap as
# before.
WATCHED = (
    "received_at",
    "is_test",
    "source_id",
    "attribution",
    "resubmission_count",
    "service_code",
    "location_id",
    "team_id",
    "member_id",
    "urgency",
    "emergency",
    "qualified",
    "score",
    "score_band",
    "first_attempt_at",
    "first_connected_at",
    "sla_due_at",
    "sla_breached_at",
    "escalation_count",
)

# A lead's source for reports: its configured source, else the label it carries (JSON API
# leads have no source row). Spend imports name sources the same way.
SOURCE_EXPR = (
    "coalesce({r}.source_id::text, lower(nullif({r}.attribution->>'source', '')), "
    "lower(nullif({r}.attribution->>'utm_source', '')))"
)
CAMPAIGN_EXPR = (
    "left(coalesce(nullif({r}.attribution->>'campaign', ''), "
    "nullif({r}.attribution->>'utm_campaign', '')), 200)"
)
LEAD_COLUMNS = (
    "lead_id, organization_id, received_at, is_test, source, campaign, service_code, "
    "location_id, team_id, member_id, urgency, emergency, qualified, score, score_band, "
    "resubmission_count, first_attempt_at, first_connected_at, sla_due_at, sla_breached_at, "
    "escalation_count, attempt_s, connect_s"
)


def _lead_values(r: str) -> str:
    return (
        f"{r}.id, {r}.organization_id, {r}.received_at, {r}.is_test, "
        f"{SOURCE_EXPR.format(r=r)}, {CAMPAIGN_EXPR.format(r=r)}, {r}.service_code, "
        f"{r}.location_id, {r}.team_id, {r}.member_id, {r}.urgency, {r}.emergency, "
        f"{r}.qualified, {r}.score, {r}.score_band, {r}.resubmission_count, "
        f"{r}.first_attempt_at, {r}.first_connected_at, {r}.sla_due_at, {r}.sla_breached_at, "
        f"{r}.escalation_count, "
        f"date_part('epoch', {r}.first_attempt_at - {r}.received_at), "
        f"date_part('epoch', {r}.first_connected_at - {r}.received_at)"
    )


_UPSERT_SET = ", ".join(f"{c} = EXCLUDED.{c}" for c in LEAD_COLUMNS.replace(" ", "").split(",")[1:])

# Appointment facts per lead, following docs/definitions.md: booked = any appointment not
# entered-in-error; completed = fulfilled; no-show and cancelled kept apart. The first and last
# starts skip cancelled ones so "has its visit time passed" means a visit that was still due.
APPOINTMENT_FACTS = """
    SELECT min(a.created_at) FILTER (WHERE a.status <> 'entered-in-error'),
           min(a.start) FILTER (WHERE a.status NOT IN ('entered-in-error', 'cancelled')),
           max(a.start) FILTER (WHERE a.status NOT IN ('entered-in-error', 'cancelled')),
           min(coalesce(a.start, a.updated_at)) FILTER (WHERE a.status = 'fulfilled'),
           count(*) FILTER (WHERE a.status = 'noshow'),
           count(*) FILTER (WHERE a.status = 'cancelled')
    FROM appointments a WHERE a.lead_id = {lead}
"""
APPOINTMENT_COLUMNS = (
    "booked_at, first_appointment_start, last_appointment_start, completed_at, "
    "noshow_count, cancelled_count"
)

FUNCTIONS = (
    f"""
CREATE FUNCTION lead_metrics_from_lead() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO lead_metrics ({LEAD_COLUMNS}) VALUES ({_lead_values("NEW")})
    ON CONFLICT (lead_id) DO UPDATE SET {_UPSERT_SET};
    RETURN NULL;
END $$
""",  # noqa: S608 - built from the constants above
    f"""
CREATE FUNCTION lead_metrics_appointments_for(target uuid) RETURNS void LANGUAGE sql AS $$
    UPDATE lead_metrics SET ({APPOINTMENT_COLUMNS}) = ({APPOINTMENT_FACTS.format(lead="target")})
    WHERE lead_id = target;
$$
""",  # noqa: S608
    """
CREATE FUNCTION lead_metrics_from_appointment() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM lead_metrics_appointments_for(OLD.lead_id);
    END IF;
    IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW.lead_id <> OLD.lead_id) THEN
        PERFORM lead_metrics_appointments_for(NEW.lead_id);
    END IF;
    RETURN NULL;
END $$
""",
)

_CHANGED = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in WATCHED)
TRIGGERS = (
    """CREATE TRIGGER lead_metrics_insert AFTER INSERT ON leads
    FOR EACH ROW EXECUTE FUNCTION lead_metrics_from_lead()""",
    f"""CREATE TRIGGER lead_metrics_update AFTER UPDATE ON leads
    FOR EACH ROW WHEN ({_CHANGED}) EXECUTE FUNCTION lead_metrics_from_lead()""",
    """CREATE TRIGGER lead_metrics_appointments AFTER INSERT OR DELETE ON appointments
    FOR EACH ROW EXECUTE FUNCTION lead_metrics_from_appointment()""",
    """CREATE TRIGGER lead_metrics_appointments_update AFTER UPDATE ON appointments
    FOR EACH ROW WHEN (
        OLD.status IS DISTINCT FROM NEW.status OR OLD.start IS DISTINCT FROM NEW.start
        OR OLD.lead_id IS DISTINCT FROM NEW.lead_id OR OLD.created_at IS DISTINCT FROM NEW.created_at
    ) EXECUTE FUNCTION lead_metrics_from_appointment()""",
)

BACKFILL = (
    f"""INSERT INTO lead_metrics ({LEAD_COLUMNS}) SELECT {_lead_values("l")} FROM leads l
    ON CONFLICT (lead_id) DO NOTHING""",  # noqa: S608
    f"""UPDATE lead_metrics m
    SET ({APPOINTMENT_COLUMNS}) = ({APPOINTMENT_FACTS.format(lead="m.lead_id")})
    WHERE m.lead_id IN (SELECT lead_id FROM appointments)""",  # noqa: S608
)


def _create_lead_metrics() -> None:
    op.create_table(
        "lead_metrics",
        sa.Column("lead_id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("received_at", TS, nullable=False),
        sa.Column("is_test", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=True),
        sa.Column("campaign", sa.String(length=200), nullable=True),
        sa.Column("service_code", sa.String(length=64), nullable=True),
        sa.Column("location_id", sa.Uuid(), nullable=True),
        sa.Column("team_id", sa.Uuid(), nullable=True),
        sa.Column("member_id", sa.Uuid(), nullable=True),
        sa.Column("urgency", sa.String(length=16), nullable=True),
        sa.Column("emergency", sa.Boolean(), nullable=False),
        sa.Column("qualified", sa.Boolean(), nullable=True),
        sa.Column("score", sa.SmallInteger(), nullable=True),
        sa.Column("score_band", sa.String(length=8), nullable=True),
        sa.Column("resubmission_count", sa.Integer(), nullable=False),
        sa.Column("first_attempt_at", TS, nullable=True),
        sa.Column("first_connected_at", TS, nullable=True),
        sa.Column("sla_due_at", TS, nullable=True),
        sa.Column("sla_breached_at", TS, nullable=True),
        sa.Column("escalation_count", sa.Integer(), nullable=False),
        # Seconds from receipt to the first attempt / connection, computed once here: interval
        # arithmetic per row per report costs more than the rest of a report's scan.
        sa.Column("attempt_s", sa.Float(), nullable=True),
        sa.Column("connect_s", sa.Float(), nullable=True),
        sa.Column("booked_at", TS, nullable=True),
        sa.Column("first_appointment_start", TS, nullable=True),
        sa.Column("last_appointment_start", TS, nullable=True),
        sa.Column("completed_at", TS, nullable=True),
        sa.Column("noshow_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("cancelled_count", sa.Integer(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(
            ["lead_id"], ["leads.id"], name="fk_lead_metrics_lead_id_leads", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name="fk_lead_metrics_organization_id_organizations",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("lead_id", name="pk_lead_metrics"),
    )
    # Every report filters on organisation, period and "not a test lead".
    op.create_index(
        "ix_lead_metrics_org_received",
        "lead_metrics",
        ["organization_id", "received_at"],
        postgresql_where=sa.text("NOT is_test"),
    )


def _create_spend() -> None:
    op.create_table(
        "spend",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("campaign", sa.String(length=200), server_default="", nullable=False),
        sa.Column("amount", sa.Numeric(12, 2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("imported_at", TS, server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name="fk_spend_organization_id_organizations",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_spend"),
        sa.UniqueConstraint(
            "organization_id", "date", "source", "campaign", name="uq_spend_org_date_source"
        ),
    )
    op.create_index("ix_spend_organization_id", "spend", ["organization_id"])


def _run(statements: tuple[str, ...]) -> None:
    # One statement per call: asyncpg prepares each and refuses several at once.
    for statement in statements:
        op.execute(statement)


def upgrade() -> None:
    _create_lead_metrics()
    _create_spend()
    _run(FUNCTIONS)
    # Triggers first: creating them locks out writers until commit, so the backfill below
    # sees every lead and none is written between the two.
    _run(TRIGGERS)
    _run(BACKFILL)


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS lead_metrics_appointments_update ON appointments")
    op.execute("DROP TRIGGER IF EXISTS lead_metrics_appointments ON appointments")
    op.execute("DROP TRIGGER IF EXISTS lead_metrics_update ON leads")
    op.execute("DROP TRIGGER IF EXISTS lead_metrics_insert ON leads")
    op.execute("DROP FUNCTION IF EXISTS lead_metrics_from_appointment()")
    op.execute("DROP FUNCTION IF EXISTS lead_metrics_appointments_for(uuid)")
    op.execute("DROP FUNCTION IF EXISTS lead_metrics_from_lead()")
    op.drop_index("ix_spend_organization_id", table_name="spend")
    op.drop_table("spend")
    op.drop_index("ix_lead_metrics_org_received", table_name="lead_metrics")
    op.drop_table("lead_metrics")
