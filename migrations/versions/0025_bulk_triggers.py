"""Bulk mode: the reporting and member-load triggers applied once per statement.

The triggers of migrations 0008, 0010 and 0013 apply each changed lead as it comes. That is
right for the service, which changes a lead or a hundred per transaction, and wrong for a
bulk load: within one transaction every update of a row walks the versions the transaction
already made of it, so a day's rollup rows (shared by all the day's leads) or a member's
counter row updated once per lead cost more with every lead. 8,000 same-day leads in one
statement took a minute.

A transaction that sets `lead_router.bulk` to `on` (app.leads.bulk.enable: a transaction-
local setting) switches the row-level triggers off and statement-level twins on. The twins
read the statement's transition tables (every row it inserted, updated or deleted) and apply
them as a few set-based statements: `lead_metrics` rows from the leads, appointment facts
per lead, one aggregated delta per rollup row, one per member counter. Same definitions,
same results; each bulk statement costs time linear in its rows.

A row trigger's WHEN is evaluated when the row changes, even for the deferred rollup trigger,
so a row changed in bulk mode is never queued for the row path as well. Rows changed in a
transaction before it switched modes keep their queued row events; both paths apply deltas,
so the sum is the same. Bulk mode takes the rollup's row locks at the statement instead of at
commit (constraint triggers cannot be statement-level): meant for imports and seeding, not
for the request path.

Revision ID: 0025
Revises: 0024
Create Date: 2026-11-25
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType

from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None

BULK = "lead_router_bulk()"


def _revision(pattern: str) -> ModuleType:
    """An earlier revision's module, whose definitions this one applies per statement."""
    [path] = Path(__file__).parent.glob(pattern)
    spec = importlib.util.spec_from_file_location(f"_lead_router_rev_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_REPORTS = _revision("0008_reports.py")
_ROLLUP = _revision("0010_lead_rollup.py")
_LOADS = _revision("0013_member_load_counters.py")
_AVAILABILITY = _revision("*_availability.py")

# --- lead_metrics from leads: 0008's definitions with availability's columns ----------------
EXTRA = tuple(_AVAILABILITY._NEW_COLUMNS)
WATCHED = (*_REPORTS.WATCHED, *EXTRA)
LEAD_COLUMNS = _REPORTS.LEAD_COLUMNS + "".join(f", {c}" for c in EXTRA)


def _lead_values(r: str) -> str:
    return str(_REPORTS._lead_values(r)) + "".join(f", {r}.{c}" for c in EXTRA)


_METRIC_NAMES = LEAD_COLUMNS.replace(" ", "").split(",")[1:]
_UPSERT_SET = ", ".join(f"{c} = EXCLUDED.{c}" for c in _METRIC_NAMES)


def _metric_columns(r: str) -> str:
    return ", ".join(f"{r}.{c}" for c in _METRIC_NAMES)


_ROW_CHANGED = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in WATCHED)
APPOINTMENT_FACTS = _REPORTS.APPOINTMENT_FACTS.format(lead="m.lead_id")
APPOINTMENT_COLUMNS = _REPORTS.APPOINTMENT_COLUMNS

# --- lead_rollup from lead_metrics: 0010's, with availability's grouping --------------------
COUNTERS: tuple[tuple[str, str], ...] = _ROLLUP.COUNTERS
NAMES = ", ".join(name for name, _ in COUNTERS)
GROUPINGS = _AVAILABILITY._with_availability_grouping(_ROLLUP.GROUPINGS)

# Signed rows (`m.sign` +1 for a row's new state, -1 for its old one) summed per rollup row.
# GROUP BY makes each (organisation, dim, day, key) appear once, as ON CONFLICT requires.
ROLLUP_UPSERT = f"""
    INSERT INTO lead_rollup AS r (organization_id, dim, day, key, {NAMES},
                                  attempt_hist, connect_hist)
    SELECT m.organization_id, g.dim, (m.received_at AT TIME ZONE z.time_zone)::date, g.key,
           {", ".join(f"sum(m.sign * coalesce({e}, 0))" for _, e in COUNTERS)},
           lead_hist_sum(m.attempt_bucket, m.sign), lead_hist_sum(m.connect_bucket, m.sign)
    FROM ({{rows}}) m
    JOIN organizations z ON z.id = m.organization_id
    CROSS JOIN LATERAL {GROUPINGS}
    WHERE NOT m.is_test
    GROUP BY 1, 2, 3, 4
    ORDER BY 1, 2, 3, 4
    ON CONFLICT (organization_id, dim, day, key) DO UPDATE SET
        {", ".join(f"{n} = r.{n} + EXCLUDED.{n}" for n, _ in COUNTERS)},
        attempt_hist = lead_hist_merge(r.attempt_hist, EXCLUDED.attempt_hist),
        connect_hist = lead_hist_merge(r.connect_hist, EXCLUDED.connect_hist)
"""  # noqa: S608 - built from the constants above
NEW_ROWS = "SELECT n.*, 1 AS sign FROM new_rows n"
OLD_ROWS = "SELECT o.*, -1 AS sign FROM old_rows o"
# --- member loads from leads: 0013's definitions ---------------------------------------
CLOSED = _LOADS.CLOSED
RETENTION = _LOADS.RETENTION
LOADS_UPSERT = f"""
    INSERT INTO member_loads AS l (member_id, organization_id, open_leads)
    SELECT member_id, organization_id, sum(sign)
    FROM ({{rows}}) x
    WHERE member_id IS NOT NULL AND status NOT IN {CLOSED}
    GROUP BY 1, 2
    HAVING sum(sign) <> 0
    ORDER BY 1
    ON CONFLICT (member_id) DO UPDATE SET open_leads = l.open_leads + EXCLUDED.open_leads
"""  # noqa: S608
SLOTS_UPSERT = f"""
    INSERT INTO member_routed_slots AS s (member_id, slot, organization_id, routed)
    SELECT member_id, member_load_slot(routed_at), organization_id, sum(sign)
    FROM ({{rows}}) x
    WHERE member_id IS NOT NULL AND routed_at >= now() - {RETENTION}
    GROUP BY 1, 2, 3
    HAVING sum(sign) <> 0
    ORDER BY 1, 2
    ON CONFLICT (member_id, slot) DO UPDATE SET routed = s.routed + EXCLUDED.routed
"""  # noqa: S608
SLOTS_PRUNE = f"""
    DELETE FROM member_routed_slots
    WHERE member_id IN (SELECT member_id FROM new_rows WHERE member_id IS NOT NULL)
      AND slot < now() - {RETENTION}
"""  # noqa: S608
LEAD_NEW = "SELECT member_id, organization_id, status, routed_at, 1 AS sign FROM new_rows"
LEAD_OLD = "SELECT member_id, organization_id, status, routed_at, -1 AS sign FROM old_rows"


def _function(name: str, body: str) -> str:
    return f"""
CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
{body};
    RETURN NULL;
END $$
"""


FUNCTIONS = (
    """
CREATE FUNCTION lead_router_bulk() RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT coalesce(current_setting('lead_router.bulk', true), '') = 'on'
$$
""",
    # A histogram's deltas: lead_hist_add over (bucket, +1/-1) pairs.
    """
CREATE AGGREGATE lead_hist_sum(int, int) (
    SFUNC = lead_hist_add, STYPE = int[], INITCOND = '[0:0]={0}'
)
""",
    """
CREATE FUNCTION lead_hist_merge(hist int[], delta int[]) RETURNS int[]
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
    FOR i IN array_lower(delta, 1) .. array_upper(delta, 1) LOOP
        IF coalesce(delta[i], 0) <> 0 THEN
            hist[i] := coalesce(hist[i], 0) + delta[i];
        END IF;
    END LOOP;
    RETURN hist;
END $$
""",
    _function(
        "lead_metrics_insert_bulk",
        f"    INSERT INTO lead_metrics ({LEAD_COLUMNS}) SELECT {_lead_values('n')} "  # noqa: S608
        f"FROM new_rows n ON CONFLICT (lead_id) DO UPDATE SET {_UPSERT_SET}",
    ),
    # Every updated lead's row, rewritten only where a reported fact differs.
    _function(
        "lead_metrics_update_bulk",
        f"    INSERT INTO lead_metrics AS m ({LEAD_COLUMNS}) SELECT {_lead_values('n')} "  # noqa: S608
        f"FROM new_rows n ON CONFLICT (lead_id) DO UPDATE SET {_UPSERT_SET} "
        f"WHERE ROW({_metric_columns('m')}) IS DISTINCT FROM ROW({_metric_columns('EXCLUDED')})",
    ),
    _function(
        "lead_metrics_appointments_bulk",
        f"""    IF TG_OP = 'INSERT' THEN
        UPDATE lead_metrics m SET ({APPOINTMENT_COLUMNS}) = ({APPOINTMENT_FACTS})
        FROM (SELECT DISTINCT lead_id FROM new_rows) t WHERE m.lead_id = t.lead_id;
    ELSIF TG_OP = 'DELETE' THEN
        UPDATE lead_metrics m SET ({APPOINTMENT_COLUMNS}) = ({APPOINTMENT_FACTS})
        FROM (SELECT DISTINCT lead_id FROM old_rows) t WHERE m.lead_id = t.lead_id;
    ELSE
        UPDATE lead_metrics m SET ({APPOINTMENT_COLUMNS}) = ({APPOINTMENT_FACTS})
        FROM (SELECT lead_id FROM new_rows UNION SELECT lead_id FROM old_rows) t
        WHERE m.lead_id = t.lead_id;
    END IF""",  # noqa: S608
    ),
    _function("lead_rollup_insert_bulk", ROLLUP_UPSERT.format(rows=NEW_ROWS)),
    # An update adds every row's new state and takes its old one away: a lead that changed
    # nothing counted adds zero. No join of the old and new rows (unindexed transition
    # tables): the statement stays linear in its rows.
    _function(
        "lead_rollup_update_bulk", ROLLUP_UPSERT.format(rows=f"{NEW_ROWS} UNION ALL {OLD_ROWS}")
    ),
    _function("lead_rollup_delete_bulk", ROLLUP_UPSERT.format(rows=OLD_ROWS)),
    _function(
        "member_loads_insert_bulk",
        f"""    {LOADS_UPSERT.format(rows=LEAD_NEW)};
    {SLOTS_UPSERT.format(rows=LEAD_NEW)};
    {SLOTS_PRUNE}""",
    ),
    _function(
        "member_loads_update_bulk",
        f"""    {LOADS_UPSERT.format(rows=f"{LEAD_NEW} UNION ALL {LEAD_OLD}")};
    {SLOTS_UPSERT.format(rows=f"{LEAD_NEW} UNION ALL {LEAD_OLD}")};
    {SLOTS_PRUNE}""",
    ),
    # A deleted lead leaves its member's open count and its routed slot.
    _function(
        "member_loads_delete_bulk",
        f"""    {LOADS_UPSERT.format(rows=LEAD_OLD)};
    {SLOTS_UPSERT.format(rows=LEAD_OLD)}""",
    ),
)

# Row triggers as before, silent in bulk mode.
ROW_TRIGGERS = (
    ("leads", "lead_metrics_insert", f"""CREATE TRIGGER lead_metrics_insert AFTER INSERT ON leads
    FOR EACH ROW WHEN (NOT {BULK}) EXECUTE FUNCTION lead_metrics_from_lead()"""),
    ("leads", "lead_metrics_update", f"""CREATE TRIGGER lead_metrics_update AFTER UPDATE ON leads
    FOR EACH ROW WHEN (NOT {BULK} AND ({_ROW_CHANGED}))
    EXECUTE FUNCTION lead_metrics_from_lead()"""),
    ("appointments", "lead_metrics_appointments", f"""CREATE TRIGGER lead_metrics_appointments
    AFTER INSERT OR DELETE ON appointments
    FOR EACH ROW WHEN (NOT {BULK}) EXECUTE FUNCTION lead_metrics_from_appointment()"""),
    ("appointments", "lead_metrics_appointments_update",
     f"""CREATE TRIGGER lead_metrics_appointments_update AFTER UPDATE ON appointments
    FOR EACH ROW WHEN (NOT {BULK} AND (
        OLD.status IS DISTINCT FROM NEW.status OR OLD.start IS DISTINCT FROM NEW.start
        OR OLD.lead_id IS DISTINCT FROM NEW.lead_id OR OLD.created_at IS DISTINCT FROM NEW.created_at
    )) EXECUTE FUNCTION lead_metrics_from_appointment()"""),
    ("lead_metrics", "lead_rollup_metrics", f"""CREATE CONSTRAINT TRIGGER lead_rollup_metrics
    AFTER INSERT OR UPDATE OR DELETE ON lead_metrics
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (NOT {BULK}) EXECUTE FUNCTION lead_rollup_from_metrics()"""),
    ("leads", "member_loads_leads", f"""CREATE TRIGGER member_loads_leads
    AFTER INSERT OR UPDATE OF member_id, status, routed_at OR DELETE ON leads
    FOR EACH ROW WHEN (NOT {BULK}) EXECUTE FUNCTION member_loads_from_leads()"""),
)  # fmt: skip


def _statement(table: str, event: str, function: str) -> str:
    refs = {"INSERT": "NEW TABLE AS new_rows", "DELETE": "OLD TABLE AS old_rows"}.get(
        event, "OLD TABLE AS old_rows NEW TABLE AS new_rows"
    )
    return (
        f"CREATE TRIGGER {function} AFTER {event} ON {table} REFERENCING {refs} "
        f"FOR EACH STATEMENT WHEN ({BULK}) EXECUTE FUNCTION {function}()"
    )


# Statement twins, each in bulk mode only. Transition tables need one event per trigger.
STATEMENT_TRIGGERS = (
    _statement("leads", "INSERT", "lead_metrics_insert_bulk"),
    _statement("leads", "UPDATE", "lead_metrics_update_bulk"),
    *(
        f"CREATE TRIGGER lead_metrics_appointments_{e.lower()}_bulk AFTER {e} ON appointments "
        f"REFERENCING {refs} FOR EACH STATEMENT WHEN ({BULK}) "
        "EXECUTE FUNCTION lead_metrics_appointments_bulk()"
        for e, refs in (
            ("INSERT", "NEW TABLE AS new_rows"),
            ("UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
            ("DELETE", "OLD TABLE AS old_rows"),
        )
    ),
    _statement("lead_metrics", "INSERT", "lead_rollup_insert_bulk"),
    _statement("lead_metrics", "UPDATE", "lead_rollup_update_bulk"),
    _statement("lead_metrics", "DELETE", "lead_rollup_delete_bulk"),
    _statement("leads", "INSERT", "member_loads_insert_bulk"),
    _statement("leads", "UPDATE", "member_loads_update_bulk"),
    _statement("leads", "DELETE", "member_loads_delete_bulk"),
)

# The row triggers as 0008, 0010 and 0013 left them, for the downgrade.
OLD_ROW_TRIGGERS = [
    re.sub(r"WHEN \(NOT lead_router_bulk\(\)\) |NOT lead_router_bulk\(\) AND ", "", t)
    for _, _, t in ROW_TRIGGERS
]


def _bulk_trigger_names() -> list[tuple[str, str]]:
    out = []
    for statement in STATEMENT_TRIGGERS:
        found = re.match(r"CREATE TRIGGER (\w+) AFTER \w+ ON (\w+)", statement)
        assert found is not None
        out.append((found.group(2), found.group(1)))
    return out


def upgrade() -> None:
    for statement in FUNCTIONS:
        op.execute(statement)
    for table, name, statement in ROW_TRIGGERS:
        op.execute(f"DROP TRIGGER {name} ON {table}")
        op.execute(statement)
    for statement in STATEMENT_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    for table, name in _bulk_trigger_names():
        op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
    for (table, name, _), statement in zip(ROW_TRIGGERS, OLD_ROW_TRIGGERS, strict=True):
        op.execute(f"DROP TRIGGER {name} ON {table}")
        op.execute(statement)
    for function in (
        "member_loads_delete_bulk", "member_loads_update_bulk", "member_loads_insert_bulk",
        "lead_rollup_delete_bulk", "lead_rollup_update_bulk", "lead_rollup_insert_bulk",
        "lead_metrics_appointments_bulk", "lead_metrics_update_bulk", "lead_metrics_insert_bulk",
    ):  # fmt: skip
        op.execute(f"DROP FUNCTION IF EXISTS {function}()")
    op.execute("DROP FUNCTION IF EXISTS lead_hist_merge(int[], int[])")
    op.execute("DROP AGGREGATE IF EXISTS lead_hist_sum(int, int)")
    op.execute("DROP FUNCTION IF EXISTS lead_router_bulk()")
