"""Triage: an organisation's own concepts, and the emergency callback as a contact purpose.

`scoring_configs.red_flag_concepts` holds `{"code", "level", "patterns"}` entries
(app.scoring.patterns), added to the built-in concepts, never replacing them.
`contact_attempts.purpose` accepts `emergency-callback`: a callback to a person who reported
an emergency, which the rule file's `purposes` holds to other rules than a solicitation.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

CHECK = "ck_contact_attempts_purpose"
BEFORE = ("scheduling", "marketing", "opt-out-confirmation")


def _purposes(*names: str) -> str:
    return "purpose IN (" + ", ".join(f"'{n}'" for n in names) + ")"


def upgrade() -> None:
    op.drop_constraint(CHECK, "contact_attempts", type_="check")
    op.create_check_constraint(CHECK, "contact_attempts", _purposes(*BEFORE, "emergency-callback"))
    op.add_column(
        "scoring_configs",
        sa.Column(
            "red_flag_concepts",
            postgresql.JSONB(),
            nullable=False,
            server_default=sa.text("'[]'::jsonb"),
        ),
    )


def downgrade() -> None:
    op.drop_column("scoring_configs", "red_flag_concepts")
    # Emergency callbacks are recorded as the scheduling calls they were before.
    op.execute(
        "UPDATE contact_attempts SET purpose = 'scheduling' WHERE purpose = 'emergency-callback'"
    )
    op.drop_constraint(CHECK, "contact_attempts", type_="check")
    op.create_check_constraint(CHECK, "contact_attempts", _purposes(*BEFORE))
