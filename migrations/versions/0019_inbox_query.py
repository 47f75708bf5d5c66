"""inbox_deliveries.query: the query parameters a replay needs.

Twilio status callbacks go through the inbox now; the `member` they carry in the callback
URL's query credits the attempt to an agent, and a replay needs it too.

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "inbox_deliveries",
        sa.Column(
            "query",
            postgresql.JSONB(),
            nullable=False,
            server_default=sa.text("'{}'::jsonb"),
        ),
    )


def downgrade() -> None:
    op.drop_column("inbox_deliveries", "query")
