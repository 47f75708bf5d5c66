"""lead_metrics indexes for the funnel's exact pass: the leads it needs, found by index.

The funnel (app/reports/funnel_sql.py) takes its counts and delay histograms from
`lead_rollup`, then reads the leads of the period in the few delay buckets that hold each
wanted percentile's rank, and those whose first appointment or SLA is still ahead of
`as_of`. It found them by reading every lead of the period and testing each: for 90 days of
a large organisation a quarter of a million rows to keep about four percent. Indexed by
organisation and bucket (then receipt, for the period), and by the two `as_of` times, those
leads are one bitmap of index ranges.

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-04
"""

from __future__ import annotations

from alembic import op

revision = "0032"
down_revision = "0031"
branch_labels = None
depends_on = None

# (name, columns, predicate beyond NOT is_test): test leads are in no report.
INDEXES = (
    ("ix_lead_metrics_attempt_bucket", "organization_id, attempt_bucket, received_at",
     "attempt_bucket IS NOT NULL"),
    ("ix_lead_metrics_connect_bucket", "organization_id, connect_bucket, received_at",
     "connect_bucket IS NOT NULL"),
    ("ix_lead_metrics_first_appointment", "organization_id, first_appointment_start",
     "first_appointment_start IS NOT NULL"),
    ("ix_lead_metrics_sla_due", "organization_id, sla_due_at", "sla_due_at IS NOT NULL"),
)  # fmt: skip


def upgrade() -> None:
    for name, columns, predicate in INDEXES:
        op.execute(
            f"CREATE INDEX {name} ON lead_metrics ({columns}) WHERE NOT is_test AND {predicate}"
        )


def downgrade() -> None:
    for name, _, _ in INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")
