"""Evidence levels, the opt-out confirmation text, the rules version of each attempt.

- `consent_events.missing`: the pieces of written consent's evidence a grant lacked
  (app.consent.levels); NULL on revocations and on events recorded before this revision
  (read as they were then: `incomplete` meant no disclosure text).
- `contact_attempts.purpose` also takes `opt-out-confirmation` (47 CFR 64.1200(a)(12)), so
  the column is wider.
- `contact_attempts.rules_version`: the contact rules' version that judged the attempt
  (the rules are versioned data); NULL for attempts recorded before this revision.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

CHECK = "ck_contact_attempts_purpose"


def upgrade() -> None:
    op.add_column("consent_events", sa.Column("missing", postgresql.ARRAY(sa.String(24))))
    op.drop_constraint(CHECK, "contact_attempts", type_="check")
    op.alter_column("contact_attempts", "purpose", type_=sa.String(32), existing_type=sa.String(16))
    op.create_check_constraint(
        CHECK, "contact_attempts", "purpose IN ('scheduling', 'marketing', 'opt-out-confirmation')"
    )
    op.add_column("contact_attempts", sa.Column("rules_version", sa.String(32)))


def downgrade() -> None:
    op.drop_column("contact_attempts", "rules_version")
    op.drop_constraint(CHECK, "contact_attempts", type_="check")
    # The narrower column cannot hold them; the append-only trigger is lifted for this alone.
    op.execute("ALTER TABLE contact_attempts DISABLE TRIGGER contact_attempts_append_only")
    op.execute("DELETE FROM contact_attempts WHERE purpose = 'opt-out-confirmation'")
    op.execute("ALTER TABLE contact_attempts ENABLE TRIGGER contact_attempts_append_only")
    op.alter_column("contact_attempts", "purpose", type_=sa.String(16), existing_type=sa.String(32))
    op.create_check_constraint(CHECK, "contact_attempts", "purpose IN ('scheduling', 'marketing')")
    op.drop_column("consent_events", "missing")
