"""ix_jobs_leased: the claim finds lapsed leases by index, not by reading every job.

A claim takes queued jobs that are due or running jobs whose lease has lapsed. Only the
first had an index (ix_jobs_due), so every claim read the whole table, finished jobs
included: about 0.6 s a claim at a million jobs, several claims a lead.

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_jobs_leased",
        "jobs",
        ["locked_until"],
        postgresql_where=sa.text("status = 'running'"),
    )


def downgrade() -> None:
    op.drop_index("ix_jobs_leased", table_name="jobs")
