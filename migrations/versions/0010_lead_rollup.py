"""Reports: `lead_rollup`, per-day funnel counts and delay histograms, kept by triggers.

The funnel report used to aggregate every `lead_metrics` row of its period: for a year of a
large organisation that is a million rows and twenty aggregates, over a second on two cores.
`lead_rollup` holds, per organisation, local day (in the organisation's time zone) and
grouping (the day itself, source, campaign, service, location, team, member, urgency, score
band), the counts the funnel needs and a histogram of first-attempt and first-connection
delays in log-spaced buckets. A trigger on `lead_metrics` applies each lead's change as a
delta in the writer's transaction, so the rollup is never behind the leads.

Counts that depend on the report's `as_of` (visit time passed, SLA due) are stored split so a
report subtracts the few leads whose appointment or SLA is still ahead of `as_of`. Exact
medians and 90th percentiles come from the histograms plus a pass over the leads in the one
bucket that holds each wanted rank (app/reports/queries.py), so they equal `percentile_cont`.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-23
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# Counter columns and, per lead (`m` a lead_metrics row), what the lead adds to each.
COUNTERS: tuple[tuple[str, str], ...] = (
    ("leads", "(m.lead_id IS NOT NULL)::int"),  # 0 for the absent side of a delta
    ("resubmissions", "m.resubmission_count"),
    ("qualified", "(m.qualified IS TRUE)::int"),
    ("emergencies", "m.emergency::int"),
    ("attempted", "(m.first_attempt_at IS NOT NULL)::int"),
    ("contacted", "(m.first_connected_at IS NOT NULL)::int"),
    ("booked", "(m.booked_at IS NOT NULL)::int"),
    ("completed", "(m.completed_at IS NOT NULL)::int"),
    ("no_shows", "(m.noshow_count > 0)::int"),
    ("cancellations", "(m.cancelled_count > 0)::int"),
    ("attempt_5m", "(m.attempt_s <= 300)::int"),
    ("attempt_in_sla", "(m.first_attempt_at <= m.sla_due_at)::int"),
    ("connect_5m", "(m.connect_s <= 300)::int"),
    ("connect_in_sla", "(m.first_connected_at <= m.sla_due_at)::int"),
    ("appointment_set", "(m.first_appointment_start IS NOT NULL)::int"),
    (
        "appointment_set_completed",
        "(m.first_appointment_start IS NOT NULL AND m.completed_at IS NOT NULL)::int",
    ),
    ("sla_attempted", "(m.sla_due_at IS NOT NULL AND m.first_attempt_at IS NOT NULL)::int"),
    ("sla_unattempted", "(m.sla_due_at IS NOT NULL AND m.first_attempt_at IS NULL)::int"),
    ("sla_connected", "(m.sla_due_at IS NOT NULL AND m.first_connected_at IS NOT NULL)::int"),
    ("sla_unconnected", "(m.sla_due_at IS NOT NULL AND m.first_connected_at IS NULL)::int"),
)
NAMES = ", ".join(name for name, _ in COUNTERS)
# A comparison with a missing timestamp or delay is NULL: it counts as 0.
ADDS = [f"coalesce({expr}, 0)" for _, expr in COUNTERS]

# The groupings a lead is counted under, as (dim, key); every key is text. NULL keys are kept:
# the report shows them as a group of their own.
GROUPINGS = """(VALUES
    ('day', NULL::text), ('source', m.source), ('campaign', m.campaign),
    ('service', m.service_code), ('location', m.location_id::text), ('team', m.team_id::text),
    ('member', m.member_id::text), ('urgency', m.urgency), ('score_band', m.score_band)
) AS g(dim, key)"""

# Histogram arrays are indexed by bucket from 0 ('[0:0]={0}'); they grow when a larger bucket
# is first used, with NULLs in between (read as 0).
EMPTY_HIST = "'[0:0]={0}'::int[]"


def _on(row: str, expr: str) -> str:
    """A per-lead expression written for `m`, for another row variable."""
    return re.sub(r"\bm\.", f"{row}.", expr)


# What places a lead in its rollup rows, and what it adds to them.
GROUPING_FIELDS = [
    f"m.{c}"
    for c in (
        "is_test", "received_at", "source", "campaign", "service_code", "location_id",
        "team_id", "member_id", "urgency", "score_band",
    )
]  # fmt: skip
FACTS = ["m.attempt_bucket", "m.connect_bucket", *ADDS[1:]]


def _same(old: str, new: str, exprs: list[str]) -> str:
    """SQL: the expressions are equal (NULLs alike) for the two row variables."""
    left = ", ".join(_on(old, e) for e in exprs)
    right = ", ".join(_on(new, e) for e in exprs)
    return f"(ROW({left}) IS NOT DISTINCT FROM ROW({right}))"


FUNCTIONS = (
    # Bucket b holds delays in [2^((b-1)/8), 2^(b/8)) seconds, ~9 % wide; 0 holds under 1 s.
    # Fine buckets keep the exact pass for a percentile to a few hundredths of the leads.
    """
CREATE FUNCTION lead_delay_bucket(seconds float8) RETURNS int
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN seconds IS NULL THEN NULL WHEN seconds < 1 THEN 0
                ELSE least(1 + floor(ln(seconds) * 11.541560327111707)::int, 400) END
$$
""",
    """
CREATE FUNCTION lead_hist_add(hist int[], bucket int, n int) RETURNS int[]
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
    IF bucket IS NULL OR n = 0 THEN
        RETURN hist;
    END IF;
    hist[bucket] := coalesce(hist[bucket], 0) + n;
    RETURN hist;
END $$
""",
    """
CREATE FUNCTION lead_hist_inc(hist int[], bucket int) RETURNS int[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT lead_hist_add(hist, bucket, 1) $$
""",
    """
CREATE AGGREGATE lead_hist_agg(int) (
    SFUNC = lead_hist_inc, STYPE = int[], INITCOND = '[0:0]={0}'
)
""",
    # Adds `n`'s contribution and removes `o`'s under each grouping; either may be NULL (an
    # insert, a delete), and when both are given they share their groupings.
    f"""
CREATE FUNCTION lead_rollup_delta(o lead_metrics, n lead_metrics, tz text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    placed lead_metrics;  -- the row whose groupings take the delta
BEGIN
    IF n.lead_id IS NULL THEN
        placed := o;
    ELSE
        placed := n;
    END IF;
    IF placed.is_test THEN
        RETURN;
    END IF;
    INSERT INTO lead_rollup AS r (organization_id, dim, day, key, {NAMES},
                                  attempt_hist, connect_hist)
    SELECT m.organization_id, g.dim, (m.received_at AT TIME ZONE tz)::date, g.key,
           {", ".join(f"{_on('n', add)} - {_on('o', add)}" for add in ADDS)},
           lead_hist_add(lead_hist_add({EMPTY_HIST}, o.attempt_bucket, -1), n.attempt_bucket, 1),
           lead_hist_add(lead_hist_add({EMPTY_HIST}, o.connect_bucket, -1), n.connect_bucket, 1)
    FROM (SELECT placed.*) m CROSS JOIN LATERAL {GROUPINGS}
    ON CONFLICT (organization_id, dim, day, key) DO UPDATE SET
        {", ".join(f"{n} = r.{n} + EXCLUDED.{n}" for n, _ in COUNTERS)},
        attempt_hist = CASE WHEN o.attempt_bucket IS NOT DISTINCT FROM n.attempt_bucket
            THEN r.attempt_hist ELSE lead_hist_add(
                lead_hist_add(r.attempt_hist, o.attempt_bucket, -1), n.attempt_bucket, 1) END,
        connect_hist = CASE WHEN o.connect_bucket IS NOT DISTINCT FROM n.connect_bucket
            THEN r.connect_hist ELSE lead_hist_add(
                lead_hist_add(r.connect_hist, o.connect_bucket, -1), n.connect_bucket, 1) END;
END $$
""",  # noqa: S608 - built from the constants above
    f"""
CREATE FUNCTION lead_rollup_from_metrics() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    tz text;
BEGIN
    -- Most updates change nothing the rollup counts; one that keeps the lead in its groupings
    -- is one upsert of the differences instead of a removal and an addition.
    IF TG_OP = 'UPDATE' AND {_same("OLD", "NEW", GROUPING_FIELDS)}
       AND {_same("OLD", "NEW", FACTS)} THEN
        RETURN NULL;
    END IF;
    SELECT time_zone INTO tz FROM organizations
    WHERE id = CASE WHEN TG_OP = 'DELETE' THEN OLD.organization_id ELSE NEW.organization_id END;
    IF tz IS NULL THEN
        RETURN NULL;  -- the organisation itself is being deleted; its rollup goes with it
    END IF;
    IF TG_OP = 'UPDATE' AND {_same("OLD", "NEW", GROUPING_FIELDS)} THEN
        PERFORM lead_rollup_delta(OLD, NEW, tz);
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM lead_rollup_delta(OLD, NULL, tz);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM lead_rollup_delta(NULL, NEW, tz);
    END IF;
    RETURN NULL;
END $$
""",  # noqa: S608
    # Recomputes an organisation's rollup from lead_metrics: the backfill, the repair after
    # a time zone change, and the tests' check that the deltas add up.
    f"""
CREATE FUNCTION lead_rollup_rebuild(org uuid) RETURNS void LANGUAGE sql AS $$
    -- Changes still waiting for commit would be added again on top of the rebuild.
    SET CONSTRAINTS lead_rollup_metrics IMMEDIATE;
    SET CONSTRAINTS lead_rollup_metrics DEFERRED;
    DELETE FROM lead_rollup WHERE organization_id = org;
    INSERT INTO lead_rollup (organization_id, dim, day, key, {NAMES}, attempt_hist, connect_hist)
    SELECT m.organization_id, g.dim, (m.received_at AT TIME ZONE o.time_zone)::date, g.key,
           {", ".join(f"sum({add})" for add in ADDS)},
           lead_hist_agg(m.attempt_bucket), lead_hist_agg(m.connect_bucket)
    FROM lead_metrics m JOIN organizations o ON o.id = m.organization_id
    CROSS JOIN LATERAL {GROUPINGS}
    WHERE m.organization_id = org AND NOT m.is_test
    GROUP BY 1, 2, 3, 4;
$$
""",  # noqa: S608
    """
CREATE FUNCTION lead_rollup_time_zone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM lead_rollup_rebuild(NEW.id);
    RETURN NULL;
END $$
""",
)

TRIGGERS = (
    # Deferred to commit: the rollup rows of a day are shared by every lead of that day, and
    # their row locks are held from the upsert to the end of the transaction. Applied at
    # commit, concurrent intakes queue on them for the commit alone, not for the rest of
    # their request. Deltas of several changes to one lead still add up (each event carries
    # its own OLD and NEW). A reader in the same transaction runs
    # `SET CONSTRAINTS lead_rollup_metrics IMMEDIATE` first (app/reports/queries.py).
    """CREATE CONSTRAINT TRIGGER lead_rollup_metrics
    AFTER INSERT OR UPDATE OR DELETE ON lead_metrics
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION lead_rollup_from_metrics()""",
    """CREATE TRIGGER lead_rollup_time_zone AFTER UPDATE OF time_zone ON organizations
    FOR EACH ROW WHEN (OLD.time_zone IS DISTINCT FROM NEW.time_zone)
    EXECUTE FUNCTION lead_rollup_time_zone()""",
)


def upgrade() -> None:
    op.create_table(
        "lead_rollup",
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("dim", sa.String(length=16), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("key", sa.Text(), nullable=True),
        *(
            sa.Column(name, sa.Integer(), server_default="0", nullable=False)
            for name, _ in COUNTERS
        ),
        sa.Column(
            "attempt_hist",
            postgresql.ARRAY(sa.Integer()),
            server_default=sa.text(EMPTY_HIST),
            nullable=False,
        ),
        sa.Column(
            "connect_hist",
            postgresql.ARRAY(sa.Integer()),
            server_default=sa.text(EMPTY_HIST),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name="fk_lead_rollup_organization_id_organizations",
            ondelete="CASCADE",
        ),
        # The report reads a histogram's buckets by position from 0 (unnest), so this holds.
        sa.CheckConstraint(
            "array_lower(attempt_hist, 1) = 0 AND array_lower(connect_hist, 1) = 0",
            name="ck_lead_rollup_hist_from_0",
        ),
        # Rows are updated in place all day: room on the page keeps the updates HOT.
        postgresql_with={"fillfactor": 70},
    )
    # One row per (organisation, grouping, day, key), a NULL key included (PostgreSQL 15+).
    op.execute(
        "CREATE UNIQUE INDEX uq_lead_rollup ON lead_rollup "
        "(organization_id, dim, day, key) NULLS NOT DISTINCT"
    )
    op.execute(FUNCTIONS[0])
    # Each lead's buckets, stored: the report's exact pass tests them on every lead of its
    # period, and a stored smallint costs less to test than the logarithm.
    op.execute(
        "ALTER TABLE lead_metrics"
        " ADD COLUMN attempt_bucket smallint"
        " GENERATED ALWAYS AS (lead_delay_bucket(attempt_s)) STORED,"
        " ADD COLUMN connect_bucket smallint"
        " GENERATED ALWAYS AS (lead_delay_bucket(connect_s)) STORED"
    )
    for statement in FUNCTIONS[1:]:
        op.execute(statement)
    # Triggers before the backfill: creating them waits for and then blocks writers of
    # lead_metrics until commit, so no lead is missed or counted twice.
    for statement in TRIGGERS:
        op.execute(statement)
    op.execute("SELECT lead_rollup_rebuild(id) FROM organizations")


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS lead_rollup_time_zone ON organizations")
    op.execute("DROP TRIGGER IF EXISTS lead_rollup_metrics ON lead_metrics")
    for signature in (
        "lead_rollup_time_zone()",
        "lead_rollup_rebuild(uuid)",
        "lead_rollup_from_metrics()",
        "lead_rollup_delta(lead_metrics, lead_metrics, text)",
    ):
        op.execute(f"DROP FUNCTION IF EXISTS {signature}")
    op.execute("DROP AGGREGATE IF EXISTS lead_hist_agg(int)")
    op.execute("DROP FUNCTION IF EXISTS lead_hist_inc(int[], int)")
    op.execute("DROP FUNCTION IF EXISTS lead_hist_add(int[], int, int)")
    op.execute("ALTER TABLE lead_metrics DROP COLUMN attempt_bucket, DROP COLUMN connect_bucket")
    op.execute("DROP FUNCTION IF EXISTS lead_delay_bucket(float8)")
    op.drop_table("lead_rollup")
