"""routing_claims: a member choice made and committed before its lead is.

Intake chooses a member in a short transaction of its own, so a team's rotation row is
locked only for that choice, not until the lead's transaction commits. The choice leaves a
claim: the member and the lead it is for. Until the lead's transaction commits, the claim
counts against the member's capacity and daily cap (member loads read it beside the leads);
that transaction deletes the claim as it writes the lead, so the lead takes its place
atomically. A claim whose lead never commits (the request failed after routing) stops
counting after a few minutes and is deleted by a later lead's transaction.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "routing_claims",
        # No foreign key to leads: the lead is not committed when its claim is.
        sa.Column("lead_id", postgresql.UUID(as_uuid=True), primary_key=True),
        sa.Column(
            "organization_id",
            postgresql.UUID(as_uuid=True),
            sa.ForeignKey("organizations.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("member_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_routing_claims_member", "routing_claims", ["member_id", "claimed_at"])
    op.create_index("ix_routing_claims_claimed_at", "routing_claims", ["claimed_at"])


def downgrade() -> None:
    op.drop_table("routing_claims")
