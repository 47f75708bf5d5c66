"""The pull queue's order, indexed for each of its views.

The queue lists leads most pressing first: emergencies, then the earliest SLA due time, then
the highest score, then the oldest (app/handoff/queue.py). Without an index in that order,
every page sorted all of the view's leads: for "every routed lead" of a large organisation a
million rows per page. The order is written as ascending keys (NOT emergency, the due time
or infinity, minus the score or 32767, received_at, id), the expressions the queries use, so
a page is a range of one of these indexes and the next page starts right after a key.

The waiting and claimed views are partial indexes holding only the leads being worked;
"every routed lead" holds every routed lead. The predicates repeat the queries' filters
with the same constants.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-04
"""

from __future__ import annotations

from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None

KEYS = (
    "organization_id, (NOT emergency), (coalesce(sla_due_at, 'infinity'::timestamptz)),"
    " (coalesce(-score, 32767)), received_at, id"
)
INDEXES = {
    "ix_leads_queue_open": "status IN ('routed', 'not_qualified') AND team_id IS NOT NULL"
    " AND claimed_at IS NULL AND erased_at IS NULL",
    "ix_leads_queue_claimed": "claimed_at IS NOT NULL"
    " AND status NOT IN ('booked', 'completed', 'lost', 'unreachable', 'no_show')"
    " AND erased_at IS NULL",
    "ix_leads_queue_all": "team_id IS NOT NULL AND erased_at IS NULL",
}


def upgrade() -> None:
    for name, where in INDEXES.items():
        op.execute(f"CREATE INDEX {name} ON leads ({KEYS}) WHERE {where}")


def downgrade() -> None:
    for name in INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")
