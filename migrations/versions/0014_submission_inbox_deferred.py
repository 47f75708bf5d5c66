"""lead_submissions.inbox_id checked at commit: a webhook delivery's row is written once.

A delivery's inbox row used to be inserted before its processing (guarding against a
concurrent redelivery) and updated with its answer after: two statements on every webhook
lead. It is now inserted once, complete, after the processing, in the same transaction; a
redelivery that stored the same event first makes that insert do nothing, and the work is
rolled back (app.intake.service). The submissions written during the processing point at a
row not yet there, so their foreign key is checked at commit.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-23
"""

from __future__ import annotations

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

FK = "fk_lead_submissions_inbox_id_inbox_deliveries"


def upgrade() -> None:
    op.execute(f"ALTER TABLE lead_submissions ALTER CONSTRAINT {FK} DEFERRABLE INITIALLY DEFERRED")


def downgrade() -> None:
    op.execute(f"ALTER TABLE lead_submissions ALTER CONSTRAINT {FK} NOT DEFERRABLE")
