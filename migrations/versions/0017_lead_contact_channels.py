"""leads.contact_channels: the channels the consent on record allows now.

The pull queue and the SLA sweep take only leads someone may contact. Deriving that from
consent events on every queue read would mean a lateral query per candidate lead; the lead
keeps it instead, written in the transaction of every consent change (intake, revocation,
grant; app.consent.standing holds the one definition). Existing leads are filled from their
events: the latest decision per channel and purpose, granted and not on do-not-contact.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

BACKFILL = """
UPDATE leads AS l SET contact_channels = ARRAY(
    SELECT e.channel FROM (
        SELECT DISTINCT ON (channel, purpose) channel, decision
        FROM consent_events
        WHERE lead_id = l.id
        ORDER BY channel, purpose, captured_at DESC, (decision = 'revoked') DESC
    ) AS e
    WHERE e.decision = 'granted' AND NOT (e.channel = ANY(coalesce(l.do_not_contact, '{}')))
    GROUP BY e.channel
    ORDER BY array_position(ARRAY['voice', 'sms', 'email']::varchar[], e.channel)
)
WHERE EXISTS (SELECT 1 FROM consent_events WHERE lead_id = l.id)
"""


def upgrade() -> None:
    op.add_column(
        "leads",
        sa.Column(
            "contact_channels",
            postgresql.ARRAY(sa.String(8)),
            nullable=False,
            server_default=sa.text("'{}'"),
        ),
    )
    op.execute(BACKFILL)


def downgrade() -> None:
    op.drop_column("leads", "contact_channels")
