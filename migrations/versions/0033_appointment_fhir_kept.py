"""appointments.external_system and provider_participant: a FHIR answer keeps what it was sent.

The scheduler's identifier kept its value but lost its `system`, and the practitioner
participant was rebuilt from its reference alone (its type, display, status and period
lost). Both are now stored as sent; rows stored before have neither and read as before.

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0033"
down_revision = "0032"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("appointments", sa.Column("external_system", sa.String(200), nullable=True))
    op.add_column("appointments", sa.Column("provider_participant", JSONB(), nullable=True))


def downgrade() -> None:
    op.drop_column("appointments", "provider_participant")
    op.drop_column("appointments", "external_system")
