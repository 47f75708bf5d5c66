"""organizations.config_version: bumped by every write to the configuration intake reads.

Intake caches each organisation's teams, members, live rule set version, scoring settings and
webhook subscriptions in the process (app.configcache), keyed by this number. Statement-level
triggers bump it in the writer's own transaction, so a change made by any process (or by hand
in SQL) is seen by the next lead everywhere. The numbers come from a sequence, which never
hands a number out twice, so a rolled-back change can't leave its number to be reused by
different data.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# Keep in step with app.configcache.CONFIG_TABLES.
CONFIG_TABLES = ("teams", "members", "rulesets", "scoring_configs", "webhook_subscriptions")

FUNCTION = """
CREATE FUNCTION bump_config_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE organizations SET config_version = nextval('config_versions')
        WHERE id IN (SELECT organization_id FROM new_rows);
    ELSIF TG_OP = 'UPDATE' THEN
        UPDATE organizations SET config_version = nextval('config_versions')
        WHERE id IN (SELECT organization_id FROM new_rows
                     UNION SELECT organization_id FROM old_rows);
    ELSE
        UPDATE organizations SET config_version = nextval('config_versions')
        WHERE id IN (SELECT organization_id FROM old_rows);
    END IF;
    RETURN NULL;
END $$
"""

# One trigger per event: a transition table names only the rows of its own event.
_EVENTS = (
    ("insert", "INSERT", "NEW TABLE AS new_rows"),
    ("update", "UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
    ("delete", "DELETE", "OLD TABLE AS old_rows"),
)


def upgrade() -> None:
    op.execute("CREATE SEQUENCE config_versions")
    op.add_column(
        "organizations",
        sa.Column(
            "config_version",
            sa.BigInteger(),
            server_default=sa.text("nextval('config_versions')"),
            nullable=False,
        ),
    )
    op.execute(FUNCTION)
    for table in CONFIG_TABLES:
        for name, event, transition in _EVENTS:
            op.execute(
                f"CREATE TRIGGER {table}_config_version_{name} AFTER {event} ON {table} "
                f"REFERENCING {transition} FOR EACH STATEMENT "
                "EXECUTE FUNCTION bump_config_version()"
            )


def downgrade() -> None:
    for table in CONFIG_TABLES:
        for name, _, _ in _EVENTS:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_config_version_{name} ON {table}")
    op.execute("DROP FUNCTION IF EXISTS bump_config_version()")
    op.drop_column("organizations", "config_version")
    op.execute("DROP SEQUENCE IF EXISTS config_versions")
