"""lead_metrics.score_factors: each lead's score factors and the level it reached in each.

The calibration by factor (app/reports/diagnostics.py) read every lead's `assessment` from
`leads`, joined to lead_metrics and taken apart with jsonb functions: for four weeks of a
large organisation tens of thousands of wide rows, most of a second on two cores. The
levels are now derived once, when the lead's assessment is written, by the triggers that
keep lead_metrics (migrations 0008, 0020 and 0025), as 'level:factor' texts: `full` when
the factor scored all its points, `partial` when some, `none` when none; factors whose
points are not numbers are left out, as the report always did.

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-04
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from alembic import op

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None


def _revision(pattern: str) -> ModuleType:
    """An earlier revision's module, whose definitions this one extends."""
    [path] = Path(__file__).parent.glob(pattern)
    spec = importlib.util.spec_from_file_location(f"_lead_router_rev_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_BULK = _revision("0025_bulk_triggers.py")

FACTORS = """
CREATE FUNCTION lead_score_factors(assessment jsonb) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT array_agg(
        CASE WHEN (f->>'points')::numeric >= (f->>'max_points')::numeric THEN 'full'
             WHEN (f->>'points')::numeric > 0 THEN 'partial'
             ELSE 'none' END || ':' || (f->>'factor')
        ORDER BY i)
    FROM jsonb_array_elements(
        CASE WHEN jsonb_typeof(assessment->'score_breakdown') = 'array'
             THEN assessment->'score_breakdown' ELSE '[]'::jsonb END
    ) WITH ORDINALITY e(f, i)
    WHERE jsonb_typeof(f->'points') = 'number' AND jsonb_typeof(f->'max_points') = 'number'
      AND f->>'factor' IS NOT NULL
$$
"""


def _definitions(with_factors: bool) -> list[str]:
    """lead_metrics_from_lead, its update trigger and the bulk twins, with or without the
    factors (the downgrade restores 0025's)."""
    columns = _BULK.LEAD_COLUMNS + (", score_factors" if with_factors else "")
    watched = (*_BULK.WATCHED, "assessment") if with_factors else _BULK.WATCHED

    def values(r: str) -> str:
        extra = f", lead_score_factors({r}.assessment)" if with_factors else ""
        return str(_BULK._lead_values(r)) + extra

    names = columns.replace(" ", "").split(",")[1:]
    upsert = ", ".join(f"{c} = EXCLUDED.{c}" for c in names)
    changed = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in watched)
    metric_columns = {r: ", ".join(f"{r}.{c}" for c in names) for r in ("m", "EXCLUDED")}
    bulk = _BULK.BULK

    def function(name: str, body: str) -> str:
        return str(_BULK._function(name, body)).replace(
            "CREATE FUNCTION", "CREATE OR REPLACE FUNCTION"
        )

    # Built from the earlier revisions' constants only.
    row = f"""
CREATE OR REPLACE FUNCTION lead_metrics_from_lead() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO lead_metrics ({columns}) VALUES ({values("NEW")})
    ON CONFLICT (lead_id) DO UPDATE SET {upsert};
    RETURN NULL;
END $$
"""  # noqa: S608
    insert = f"INSERT INTO lead_metrics ({columns}) SELECT {values('n')} FROM new_rows n"  # noqa: S608
    update = f"INSERT INTO lead_metrics AS m ({columns}) SELECT {values('n')} FROM new_rows n"  # noqa: S608
    distinct = f"ROW({metric_columns['m']}) IS DISTINCT FROM ROW({metric_columns['EXCLUDED']})"
    return [
        row,
        function(
            "lead_metrics_insert_bulk",
            f"    {insert} ON CONFLICT (lead_id) DO UPDATE SET {upsert}",
        ),
        function(
            "lead_metrics_update_bulk",
            f"    {update} ON CONFLICT (lead_id) DO UPDATE SET {upsert} WHERE {distinct}",
        ),
        "DROP TRIGGER lead_metrics_update ON leads",
        f"""CREATE TRIGGER lead_metrics_update AFTER UPDATE ON leads
    FOR EACH ROW WHEN (NOT {bulk} AND ({changed}))
    EXECUTE FUNCTION lead_metrics_from_lead()""",
    ]


def upgrade() -> None:
    op.execute(FACTORS)
    op.execute("ALTER TABLE lead_metrics ADD COLUMN score_factors text[]")
    for statement in _definitions(with_factors=True):
        op.execute(statement)
    # The backfill changes nothing the rollup counts: its trigger stays out of it, instead of
    # queueing an event per lead until commit.
    op.execute("ALTER TABLE lead_metrics DISABLE TRIGGER lead_rollup_metrics")
    op.execute(
        "UPDATE lead_metrics m SET score_factors = f.levels"
        " FROM leads l CROSS JOIN LATERAL (SELECT lead_score_factors(l.assessment) AS levels) f"
        " WHERE l.id = m.lead_id AND f.levels IS NOT NULL"
    )
    op.execute("ALTER TABLE lead_metrics ENABLE TRIGGER lead_rollup_metrics")


def downgrade() -> None:
    for statement in _definitions(with_factors=False):
        op.execute(statement)
    op.execute("ALTER TABLE lead_metrics DROP COLUMN score_factors")
    op.execute("DROP FUNCTION IF EXISTS lead_score_factors(jsonb)")
