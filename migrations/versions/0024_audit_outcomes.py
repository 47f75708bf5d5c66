"""Audit rows for every request that touches personal data, with their outcome.

- `outcome` (allowed, refused, not_found, error), `status_code`, `problem_type` and `route`
  (the endpoint, never the ids in its path): a refused or failed request writes its row
  after its rollback (app.auth.trail). Rows before this revision were all allowed.
- Indexes for `GET /v1/audit-events`: by time, by actor, and a GIN index on the ids a list
  read returned (`details -> 'ids'`).
- Six years (HIPAA, 45 CFR 164.316(b)(2)): the append-only trigger now lets rows older than
  that be deleted, and nothing younger; the README says how to move them out first
  (`lead-router audit-archive`). UPDATE and TRUNCATE stay refused.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

KEPT = "interval '6 years'"

RETAINED = f"""
CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' AND OLD.created_at < now() - {KEPT} THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION 'audit_events is append-only (% refused)', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END $$
"""

APPEND_ONLY = """
CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_events is append-only (% refused)', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END $$
"""


def upgrade() -> None:
    op.add_column(
        "audit_events",
        sa.Column("outcome", sa.String(16), nullable=False, server_default="allowed"),
    )
    op.add_column("audit_events", sa.Column("status_code", sa.SmallInteger()))
    op.add_column("audit_events", sa.Column("problem_type", sa.String(64)))
    op.add_column("audit_events", sa.Column("route", sa.String(200)))
    op.create_index(
        "ix_audit_events_org_created", "audit_events", ["organization_id", "created_at", "id"]
    )
    op.create_index(
        "ix_audit_events_org_actor",
        "audit_events",
        ["organization_id", "actor_key_id", "created_at"],
    )
    op.execute(
        "CREATE INDEX ix_audit_events_listed_ids ON audit_events"
        " USING gin ((details -> 'ids') jsonb_path_ops)"
    )
    op.execute(RETAINED)


def downgrade() -> None:
    op.execute(APPEND_ONLY)
    op.drop_index("ix_audit_events_listed_ids", "audit_events")
    op.drop_index("ix_audit_events_org_actor", "audit_events")
    op.drop_index("ix_audit_events_org_created", "audit_events")
    for column in ("route", "problem_type", "status_code", "outcome"):
        op.drop_column("audit_events", column)
