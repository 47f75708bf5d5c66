"""lead_rollup: a (source, campaign) grouping for the cost report.

The cost report divides each source and campaign's spend by its leads, qualified leads,
booked and completed first visits in the period. It counted them from `lead_metrics`: for
90 days of a large organisation a few hundred thousand rows, the slowest part of the weekly
review. Those four counts are rollup counters already; only the grouping was missing (the
`campaign` grouping alone merges campaigns of the same name from different sources). Each
lead is now also counted under `source_campaign`, keyed by the JSON array
`[source, campaign]` (jsonb's text form, so one pair has one key whatever the labels hold).

The row triggers (0010 and 0020's functions) and the bulk-mode twins (0025) gain the grouping;
the backfill counts every lead under it once, with writers of lead_metrics held off until
commit so none is missed or counted twice.

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-04
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from alembic import op

revision = "0031"
down_revision = "0030"
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


_ROLLUP = _revision("0010_lead_rollup.py")
_AVAILABILITY = _revision("0020_availability.py")
_BULK = _revision("0025_bulk_triggers.py")

LAST_GROUPING = "('availability', m.availability)"
KEY = "jsonb_build_array(m.source, m.campaign)::text"
NEW_GROUPING = f"('source_campaign', {KEY})"


def _previous() -> list[str]:
    """The functions that place a lead in its rollup rows, as 0020 and 0025 left them:
    lead_rollup_delta and lead_rollup_rebuild, and the three bulk-mode upserts."""
    rows = [_AVAILABILITY._with_availability_grouping(f) for f in _AVAILABILITY._rollup_functions()]
    bulk = [f for f in _BULK.FUNCTIONS if "INSERT INTO lead_rollup" in f]
    out = [f.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION") for f in rows + bulk]
    placing = [f for f in out if LAST_GROUPING in f]
    assert len(placing) == 5, len(placing)
    return placing


def _with_source_campaign(sql: str) -> str:
    return sql.replace(LAST_GROUPING, f"{LAST_GROUPING}, {NEW_GROUPING}")


BACKFILL = f"""
    INSERT INTO lead_rollup (organization_id, dim, day, key, {_ROLLUP.NAMES},
                             attempt_hist, connect_hist)
    SELECT m.organization_id, 'source_campaign', (m.received_at AT TIME ZONE o.time_zone)::date,
           {KEY}, {", ".join(f"sum({add})" for add in _ROLLUP.ADDS)},
           lead_hist_agg(m.attempt_bucket), lead_hist_agg(m.connect_bucket)
    FROM lead_metrics m JOIN organizations o ON o.id = m.organization_id
    WHERE NOT m.is_test
    GROUP BY 1, 2, 3, 4
"""  # noqa: S608 - built from constants


def upgrade() -> None:
    # Writers wait from here to commit: the functions and the backfill see the same leads.
    op.execute("LOCK TABLE lead_metrics IN SHARE MODE")
    for statement in _previous():
        op.execute(_with_source_campaign(statement))
    op.execute("SET LOCAL work_mem = '256MB'")
    op.execute(BACKFILL)


def downgrade() -> None:
    op.execute("LOCK TABLE lead_metrics IN SHARE MODE")
    for statement in _previous():
        op.execute(statement)
    op.execute("DELETE FROM lead_rollup WHERE dim = 'source_campaign'")
