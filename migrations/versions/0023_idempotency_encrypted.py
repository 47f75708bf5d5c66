"""idempotency_keys.response_enc: stored answers are encrypted.

Every request that creates something now honours `Idempotency-Key` (app.idempotency), and
some answers carry personal data or a secret shown once (an API key, a webhook signing
secret). They are kept AES-GCM encrypted in `response_enc`; `response_body` stays for rows
stored before (gone within a day, when they expire).

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("idempotency_keys", sa.Column("response_enc", sa.LargeBinary()))
    op.alter_column(
        "idempotency_keys", "response_body", existing_type=postgresql.JSONB(), nullable=True
    )


def downgrade() -> None:
    # Encrypted answers cannot go back into the plain column: they are dropped (a retry
    # within the day then runs again).
    op.execute("DELETE FROM idempotency_keys WHERE response_body IS NULL")
    op.alter_column(
        "idempotency_keys", "response_body", existing_type=postgresql.JSONB(), nullable=False
    )
    op.drop_column("idempotency_keys", "response_enc")
