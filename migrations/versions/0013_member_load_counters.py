"""member_loads and member_routed_slots: member loads kept as counters, read, never counted.

Routing reads each candidate member's open leads (capacity, least-loaded) and the leads routed
to them since the team's local midnight (daily cap) on every decision, inside the team's
rotation lock. Counted from `leads`, both cost in proportion to the rows they count: a team
whose leads stay open, or a busy day, made every decision slower as the data grew (82 ms of
PostgreSQL per lead with 5M stored leads and 41,000 of them open, against 6 ms on an empty
database). A trigger on `leads` now keeps the two numbers, and routing reads a row per member
plus at most a day of quarter-hour slots.

- `member_loads`: a member's open leads (not in a closed status; the same list as
  app.routing.service.CLOSED_STATUSES).
- `member_routed_slots`: leads routed to a member per quarter hour of `routed_at`. Every
  time zone's midnight falls on a quarter hour, so "since local midnight" is a sum of whole
  slots. Slots older than two days are never read; the trigger deletes a member's old slots
  when it opens a new one, so the table holds at most two days.

The trigger runs with the change, not deferred to commit as the rollup's is (migration 0010).
A member's counter row is shared by every day of that member's leads, while a rollup row
belongs to one day; applied at commit, in event order, a transaction changing several leads
(the SLA sweep) would hold a day's rollup rows while it waits for a member's row that an
intake holds while it waits for the same rollup rows: a deadlock. Applied with the change,
every transaction takes its member rows before any rollup row, and an intake holds its
member's rows from the lead's INSERT to its commit, a few milliseconds. A member changed on
one lead is updated in member id order, so two opposite reassignments never wait on each
other in a cycle. A reader in the same transaction sees its own changes.

No foreign keys: deleting an organisation cascades to its leads, and the trigger then writes
counter rows for an organisation that is being deleted; a foreign key would make that delete
fail.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

# Keep in step with app.routing.service.CLOSED_STATUSES (tests/routing/test_load_counters.py).
CLOSED = "('booked', 'completed', 'lost', 'unreachable', 'no_show')"
# A lead routed before this counts in no slot: "today" never reaches back this far.
RETENTION = "interval '2 days'"

FUNCTIONS = (
    """
CREATE FUNCTION member_load_slot(t timestamptz) RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT to_timestamp(floor(extract(epoch FROM t) / 900) * 900)
$$
""",
    """
CREATE FUNCTION member_loads_add(org uuid, member uuid, n int) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF n = 0 THEN
        RETURN;
    END IF;
    UPDATE member_loads SET open_leads = open_leads + n WHERE member_id = member;
    IF NOT FOUND THEN
        INSERT INTO member_loads AS l (member_id, organization_id, open_leads)
        VALUES (member, org, n)
        ON CONFLICT (member_id) DO UPDATE SET open_leads = l.open_leads + EXCLUDED.open_leads;
    END IF;
END $$
""",
    f"""
CREATE FUNCTION member_routed_add(org uuid, member uuid, at timestamptz, n int) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF at IS NULL OR at < now() - {RETENTION} THEN
        RETURN;
    END IF;
    UPDATE member_routed_slots SET routed = routed + n
    WHERE member_id = member AND slot = member_load_slot(at);
    IF NOT FOUND THEN
        INSERT INTO member_routed_slots AS s (member_id, slot, organization_id, routed)
        VALUES (member, member_load_slot(at), org, n)
        ON CONFLICT (member_id, slot) DO UPDATE SET routed = s.routed + EXCLUDED.routed;
        -- A new slot, at most 96 a day per member: the moment to drop the ones nobody reads.
        DELETE FROM member_routed_slots
        WHERE member_id = member AND slot < now() - {RETENTION};
    END IF;
END $$
""",  # noqa: S608 - built from the constants above
    # Each event carries its own OLD and NEW, so several changes to one lead in a
    # transaction add up to the change from its first state to its last.
    f"""
CREATE FUNCTION member_loads_from_leads() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    was_open boolean := false;
    is_open boolean := false;
BEGIN
    IF TG_OP <> 'INSERT' AND OLD.member_id IS NOT NULL THEN
        was_open := OLD.status NOT IN {CLOSED};
    END IF;
    IF TG_OP <> 'DELETE' AND NEW.member_id IS NOT NULL THEN
        is_open := NEW.status NOT IN {CLOSED};
    END IF;
    IF TG_OP = 'UPDATE' AND OLD.member_id IS NOT DISTINCT FROM NEW.member_id THEN
        IF was_open <> is_open THEN
            PERFORM member_loads_add(NEW.organization_id, NEW.member_id,
                                     CASE WHEN is_open THEN 1 ELSE -1 END);
        END IF;
        IF NEW.member_id IS NOT NULL AND OLD.routed_at IS DISTINCT FROM NEW.routed_at THEN
            PERFORM member_routed_add(OLD.organization_id, OLD.member_id, OLD.routed_at, -1);
            PERFORM member_routed_add(NEW.organization_id, NEW.member_id, NEW.routed_at, 1);
        END IF;
        RETURN NULL;
    END IF;
    -- The lower member id first (NULL ids take no lock).
    IF TG_OP = 'UPDATE' AND OLD.member_id IS NOT NULL AND NEW.member_id IS NOT NULL
       AND NEW.member_id < OLD.member_id THEN
        PERFORM member_loads_add(NEW.organization_id, NEW.member_id, is_open::int);
        PERFORM member_routed_add(NEW.organization_id, NEW.member_id, NEW.routed_at, 1);
        PERFORM member_loads_add(OLD.organization_id, OLD.member_id, -was_open::int);
        PERFORM member_routed_add(OLD.organization_id, OLD.member_id, OLD.routed_at, -1);
        RETURN NULL;
    END IF;
    IF TG_OP <> 'INSERT' AND OLD.member_id IS NOT NULL THEN
        PERFORM member_loads_add(OLD.organization_id, OLD.member_id, -was_open::int);
        PERFORM member_routed_add(OLD.organization_id, OLD.member_id, OLD.routed_at, -1);
    END IF;
    IF TG_OP <> 'DELETE' AND NEW.member_id IS NOT NULL THEN
        PERFORM member_loads_add(NEW.organization_id, NEW.member_id, is_open::int);
        PERFORM member_routed_add(NEW.organization_id, NEW.member_id, NEW.routed_at, 1);
    END IF;
    RETURN NULL;
END $$
""",
    # The counters recomputed from `leads`: the backfill, the bulk loads' repair (bench seeds
    # disable the trigger), and the tests' check that the trigger's deltas add up.
    f"""
CREATE FUNCTION member_loads_rebuild() RETURNS void LANGUAGE sql AS $$
    DELETE FROM member_loads;
    DELETE FROM member_routed_slots;
    INSERT INTO member_loads (member_id, organization_id, open_leads)
    SELECT member_id, organization_id, count(*) FROM leads
    WHERE member_id IS NOT NULL AND status NOT IN {CLOSED}
    GROUP BY 1, 2;
    INSERT INTO member_routed_slots (member_id, slot, organization_id, routed)
    SELECT member_id, member_load_slot(routed_at), organization_id, count(*) FROM leads
    WHERE member_id IS NOT NULL AND routed_at >= now() - {RETENTION}
    GROUP BY 1, 2, 3;
$$
""",  # noqa: S608
)

TRIGGER = """CREATE TRIGGER member_loads_leads
    AFTER INSERT OR UPDATE OF member_id, status, routed_at OR DELETE ON leads
    FOR EACH ROW EXECUTE FUNCTION member_loads_from_leads()"""


def upgrade() -> None:
    uuid = postgresql.UUID(as_uuid=True)
    op.create_table(
        "member_loads",
        sa.Column("member_id", uuid, primary_key=True),
        sa.Column("organization_id", uuid, nullable=False),
        sa.Column("open_leads", sa.Integer(), nullable=False),
        # Updated in place by every lead of the member: room on the page keeps updates HOT.
        postgresql_with={"fillfactor": 70},
    )
    op.create_table(
        "member_routed_slots",
        sa.Column("member_id", uuid, primary_key=True),
        sa.Column("slot", sa.DateTime(timezone=True), primary_key=True),
        sa.Column("organization_id", uuid, nullable=False),
        sa.Column("routed", sa.Integer(), nullable=False),
        postgresql_with={"fillfactor": 70},
    )
    for statement in FUNCTIONS:
        op.execute(statement)
    # The trigger before the backfill: creating it waits for and then blocks writers of
    # leads until commit, so no lead is missed or counted twice.
    op.execute(TRIGGER)
    op.execute("SELECT member_loads_rebuild()")
    # Routing no longer counts open leads (migration 0012's index served that count alone).
    op.drop_index("ix_leads_member_open", table_name="leads")


def downgrade() -> None:
    op.create_index(
        "ix_leads_member_open",
        "leads",
        ["member_id"],
        postgresql_where=sa.text(f"member_id IS NOT NULL AND status NOT IN {CLOSED}"),
    )
    op.execute("DROP TRIGGER IF EXISTS member_loads_leads ON leads")
    for signature in (
        "member_loads_rebuild()",
        "member_loads_from_leads()",
        "member_routed_add(uuid, uuid, timestamptz, int)",
        "member_loads_add(uuid, uuid, int)",
        "member_load_slot(timestamptz)",
    ):
        op.execute(f"DROP FUNCTION IF EXISTS {signature}")
    op.drop_table("member_routed_slots")
    op.drop_table("member_loads")
