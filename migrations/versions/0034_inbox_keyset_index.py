"""inbox_deliveries (organization_id, received_at, id): GET /v1/inbox pages by cursor.

The list is newest first with the id breaking ties; without this index an organisation's
first page read and sorted all of its deliveries.

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-04
"""

from __future__ import annotations

from alembic import op

revision = "0034"
down_revision = "0033"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_inbox_deliveries_org_received",
        "inbox_deliveries",
        ["organization_id", "received_at", "id"],
    )


def downgrade() -> None:
    op.drop_index("ix_inbox_deliveries_org_received", table_name="inbox_deliveries")
