"""ix_leads_member_open: a member's open leads, without their history.

Routing counts each candidate member's open leads on every decision (capacity). The index on
(member_id, status) could not serve `status NOT IN (...)`: the count walked every lead the
member ever had, a cost growing with history, inside the rotation lock. This partial index
holds only open leads, the ones the count wants; app.routing.service.OPEN_SQL spells the same
predicate, so the planner uses it.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

# Keep in step with app.routing.service.CLOSED_STATUSES.
OPEN = "member_id IS NOT NULL AND status NOT IN ('booked', 'completed', 'lost', 'unreachable', 'no_show')"


def upgrade() -> None:
    op.create_index("ix_leads_member_open", "leads", ["member_id"], postgresql_where=sa.text(OPEN))


def downgrade() -> None:
    op.drop_index("ix_leads_member_open", table_name="leads")
