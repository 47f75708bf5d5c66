"""Member loads read from counters a trigger on leads keeps (migration 0013).

Routing reads each candidate's open leads and leads routed today on every decision, inside
the team's rotation lock; counted from `leads`, that cost grew with the stored leads. The
counters must agree with a count of the leads after any change, and the statement routing
sends must not read `leads` at all.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.routing.queries import _loads_stmt, member_loads, slots_from
from app.routing.service import CLOSED_STATUSES
from tests.conftest import Org
from tests.routing.http_helpers import team_with_members

UTC = dt.UTC

INSERT = """
INSERT INTO leads (id, organization_id, received_at, last_submitted_at, status, is_test,
    channel, phone_hash, email_hash, normalization_flags, attribution, resubmission_count,
    emergency, assessment, routing_trace, do_not_contact, escalation_count, updated_at,
    member_id, routed_at)
VALUES (:id, :org, :at, :at, :status, false, 'api', md5(:hash), NULL, '{}', '{}', 0,
    false, '{}', '{}', '{}', 0, :at, :member, :at)
"""


async def _lead(
    conn: AsyncConnection,
    org: Org,
    member: str | None,
    status: str = "routed",
    at: dt.datetime | None = None,
) -> uuid.UUID:
    lead_id = uuid.uuid4()
    at = at or dt.datetime.now(UTC)
    params = {"id": lead_id, "hash": str(lead_id), "org": org.id, "member": member,
              "status": status, "at": at}  # fmt: skip
    await conn.execute(text(INSERT), params)
    return lead_id


async def _loads(
    session: AsyncSession, org: Org, members: list[str], since: dt.datetime
) -> dict[str, tuple[int, int]]:
    loads, _ = await member_loads(
        session, org.id, [uuid.UUID(m) for m in members], since, dt.datetime.now(UTC)
    )
    return {m: loads.get(m, (0, 0)) for m in members}


@pytest.mark.parametrize(
    ("status", "is_open"),
    [
        ("new", True),
        ("routed", True),
        ("contacted", True),
        ("not_qualified", True),
        ("pending_retrieval", True),
        ("booked", False),
        ("completed", False),
        ("lost", False),
        ("unreachable", False),
        ("no_show", False),
    ],
)
async def test_a_lead_is_open_unless_its_status_is_closed(
    client: httpx.AsyncClient,
    org: Org,
    conn: AsyncConnection,
    session: AsyncSession,
    status: str,
    is_open: bool,
) -> None:
    _, (ana,) = await team_with_members(client, org, ["Ana"])
    await _lead(conn, org, ana["id"], status)

    loads = await _loads(session, org, [ana["id"]], dt.datetime.now(UTC) - dt.timedelta(hours=1))

    # The trigger's list of closed statuses is the one the rest of the code uses.
    assert (status not in CLOSED_STATUSES) is is_open
    assert loads[ana["id"]] == (int(is_open), 1)


async def test_counters_follow_each_change_to_a_lead_and_equal_a_recount(
    client: httpx.AsyncClient, org: Org, conn: AsyncConnection, session: AsyncSession
) -> None:
    _, (ana, ben) = await team_with_members(client, org, ["Ana", "Ben"])
    a, b = ana["id"], ben["id"]
    now = dt.datetime.now(UTC)
    today = slots_from(now - dt.timedelta(hours=3))
    first = await _lead(conn, org, a)
    second = await _lead(conn, org, a)
    # Routed before today's window: open, but not routed today.
    await _lead(conn, org, b, at=now - dt.timedelta(days=5))
    steps: list[tuple[str, dict[str, Any], dict[str, tuple[int, int]]]] = [
        ("SELECT 1", {}, {a: (2, 2), b: (1, 0)}),
        ("UPDATE leads SET status = 'completed' WHERE id = :id", {"id": first},
         {a: (1, 2), b: (1, 0)}),
        ("UPDATE leads SET status = 'contacted' WHERE id = :id", {"id": first},
         {a: (2, 2), b: (1, 0)}),
        ("UPDATE leads SET member_id = :b WHERE id = :id", {"id": second, "b": b},
         {a: (1, 1), b: (2, 1)}),
        # And back and forth: whichever id is lower, the trigger updates it first.
        ("UPDATE leads SET member_id = :a WHERE id = :id", {"id": second, "a": a},
         {a: (2, 2), b: (1, 0)}),
        ("UPDATE leads SET member_id = :b WHERE id = :id", {"id": second, "b": b},
         {a: (1, 1), b: (2, 1)}),
        ("UPDATE leads SET routed_at = :at WHERE id = :id",
         {"id": second, "at": now - dt.timedelta(days=1)}, {a: (1, 1), b: (2, 0)}),
        ("UPDATE leads SET member_id = NULL, status = 'booked' WHERE id = :id", {"id": first},
         {a: (0, 0), b: (2, 0)}),
        ("DELETE FROM leads WHERE id = :id", {"id": second}, {a: (0, 0), b: (1, 0)}),
        # Assigned by hand, never routed: open, in no slot.
        ("UPDATE leads SET member_id = :a, status = 'new', routed_at = NULL WHERE id = :id",
         {"id": first, "a": a}, {a: (1, 0), b: (1, 0)}),
    ]  # fmt: skip

    for sql, params, expected in steps:
        await conn.execute(text(sql), params)
        assert await _loads(session, org, [a, b], today) == expected, sql

    kept = await _counters(conn, org)
    await conn.execute(text("SELECT member_loads_rebuild()"))
    assert await _counters(conn, org) == kept


async def _counters(conn: AsyncConnection, org: Org) -> tuple[list[Any], list[Any]]:
    """The organisation's counters that are not zero (a recount writes no row for a member
    without leads), and of the slots only those wholly inside the two days kept: the trigger
    drops a member's older slots only when it opens a new one, and the slot holding the
    two-day edge is half counted by a recount, which never matters to routing (it reads
    today's slots)."""
    loads = await conn.execute(
        text(
            "SELECT * FROM member_loads WHERE open_leads <> 0 AND organization_id = :org "
            "ORDER BY member_id"
        ),
        {"org": org.id},
    )
    slots = await conn.execute(
        text(
            "SELECT * FROM member_routed_slots WHERE routed <> 0 AND organization_id = :org "
            "AND slot >= now() - interval '2 days' ORDER BY member_id, slot"
        ),
        {"org": org.id},
    )
    return list(loads.all()), list(slots.all())


async def test_a_day_starting_between_slots_counts_its_edge_on_the_leads(
    client: httpx.AsyncClient, org: Org, conn: AsyncConnection, session: AsyncSession
) -> None:
    _, (ana,) = await team_with_members(client, org, ["Ana"])
    slot = slots_from(dt.datetime.now(UTC) - dt.timedelta(hours=2))
    since = slot + dt.timedelta(minutes=7)
    for minutes in (6, 8, 20):  # before `since` in its slot, after it, the next slot
        await _lead(conn, org, ana["id"], at=slot + dt.timedelta(minutes=minutes))

    assert await _loads(session, org, [ana["id"]], since) == {ana["id"]: (3, 2)}
    assert await _loads(session, org, [ana["id"]], slot) == {ana["id"]: (3, 3)}


@pytest.mark.parametrize(
    ("since", "expected"),
    [
        (dt.datetime(2026, 11, 23, 6, 0, tzinfo=UTC), dt.datetime(2026, 11, 23, 6, 0, tzinfo=UTC)),
        (dt.datetime(2026, 11, 23, 6, 7, tzinfo=UTC), dt.datetime(2026, 11, 23, 6, 15, tzinfo=UTC)),
        (dt.datetime(2026, 11, 23, 6, 45, 0, 1, tzinfo=UTC),
         dt.datetime(2026, 11, 23, 7, 0, tzinfo=UTC)),
        # Local midnights fall on slots, at offsets of half and three quarters of an hour too.
        (dt.datetime(2026, 11, 23, tzinfo=ZoneInfo("Asia/Kolkata")),
         dt.datetime(2026, 11, 22, 18, 30, tzinfo=UTC)),
        (dt.datetime(2026, 11, 23, tzinfo=ZoneInfo("Asia/Kathmandu")),
         dt.datetime(2026, 11, 22, 18, 15, tzinfo=UTC)),
        (dt.datetime(2026, 3, 8, tzinfo=ZoneInfo("America/New_York")),
         dt.datetime(2026, 3, 8, 5, 0, tzinfo=UTC)),
    ],
)  # fmt: skip
def test_slots_from(since: dt.datetime, expected: dt.datetime) -> None:
    assert slots_from(since) == expected


async def test_a_members_slots_older_than_two_days_go_when_a_new_slot_opens(
    client: httpx.AsyncClient, org: Org, conn: AsyncConnection, session: AsyncSession
) -> None:
    _, (ana, ben) = await team_with_members(client, org, ["Ana", "Ben"])
    old = slots_from(dt.datetime.now(UTC) - dt.timedelta(days=3))
    for member in (ana, ben):
        await conn.execute(
            text(
                "INSERT INTO member_routed_slots (member_id, slot, organization_id, routed) "
                "VALUES (:member, :slot, :org, 4)"
            ),
            {"member": member["id"], "slot": old, "org": org.id},
        )
    await _lead(conn, org, ana["id"])

    rows = await conn.execute(
        text("SELECT member_id::text, slot FROM member_routed_slots WHERE organization_id = :org"),
        {"org": org.id},
    )
    left = {(m, s == old) for m, s in rows}
    assert left == {(ana["id"], False), (ben["id"], True)}


async def test_the_loads_statement_never_reads_the_leads_table(
    org: Org, conn: AsyncConnection
) -> None:
    stmt = _loads_stmt(True, False, False)
    values = {"org": f"'{org.id}'", "members": f"'{{{uuid.uuid4()},{uuid.uuid4()}}}'",
              "since": "date_trunc('day', now())", "slots_from": "date_trunc('day', now())",
              "claims_after": "now()"}  # fmt: skip
    # The others are the union parts' constant columns (0 and false), bound by SQLAlchemy.
    args = ", ".join(values.get(name) or str(stmt.fixed[name]).lower() for name in stmt.names)
    raw = (await conn.get_raw_connection()).driver_connection
    assert raw is not None
    await raw.execute(f"PREPARE member_loads_plan AS {stmt.sql}")
    try:
        rows = await raw.fetch(f"EXPLAIN EXECUTE member_loads_plan({args})")
    finally:
        await raw.execute("DEALLOCATE member_loads_plan")
    plan = "\n".join(r[0] for r in rows)

    assert "member_loads" in plan, plan
    assert " on leads" not in plan, plan
