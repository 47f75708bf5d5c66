"""jobs.locked_by: the worker holding a job's lease.

Leases are now short and renewed while a job runs; a worker that could not finish a batch
hands its claims back. Both are done only by the worker named here, so a job another worker
took over after the lease expired is never renewed or handed back by the first.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("jobs", sa.Column("locked_by", postgresql.UUID(as_uuid=True), nullable=True))


def downgrade() -> None:
    op.drop_column("jobs", "locked_by")
