"""Member loads read indexes sized by open and recent leads, never a member's whole history.

Routing counts each candidate's open leads and today's leads on every decision, inside the
team's rotation lock. Given members with a long closed history, the plan of the very
statement routing sends must reach their leads through the partial index of open leads
(migration 0012) and the (member_id, routed_at) index, not through every lead they had. The
plan is a custom one, as PostgreSQL keeps for it: the generic plan cannot know that `since`
is today and costs far more.
"""

from __future__ import annotations

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.routing.service import _loads_stmt
from tests.conftest import Org
from tests.routing.http_helpers import team_with_members

HISTORY = """
INSERT INTO leads (id, organization_id, received_at, last_submitted_at, status, is_test,
    channel, phone_hash, email_hash, normalization_flags, attribution, resubmission_count,
    emergency, assessment, routing_trace, do_not_contact, escalation_count, updated_at,
    team_id, member_id, routed_at)
SELECT gen_random_uuid(), :org, t, t, 'completed', false, 'api', md5('p' || g), md5('e' || g),
    '{}', '{}', 0, false, '{}', '{}', '{}', 0, t, :team,
    (ARRAY[:a, :b]::uuid[])[1 + g % 2], t
FROM generate_series(1, 4000) g, LATERAL (SELECT now() - g * interval '1 hour') AS at(t)
"""


async def test_open_and_todays_counts_use_their_own_indexes(
    client: httpx.AsyncClient, org: Org, conn: AsyncConnection
) -> None:
    team, (a, b) = await team_with_members(client, org, ["Ana", "Ben"])
    await conn.execute(
        text(HISTORY), {"org": org.id, "team": team["id"], "a": a["id"], "b": b["id"]}
    )
    await conn.execute(text("ANALYZE leads"))
    stmt = _loads_stmt(True, False, False)
    values = {"org": f"'{org.id}'", "members": f"'{{{a['id']},{b['id']}}}'",
              "since": "date_trunc('day', now())", "claims_after": "now()"}  # fmt: skip
    # The others are the union parts' constant columns (0 and false), bound by SQLAlchemy.
    args = ", ".join(values.get(name) or str(stmt.fixed[name]).lower() for name in stmt.names)
    raw = (await conn.get_raw_connection()).driver_connection
    assert raw is not None
    await raw.execute(f"PREPARE member_loads_plan AS {stmt.sql}")
    await raw.execute("SET LOCAL plan_cache_mode = force_custom_plan")
    # The question is whether these indexes can serve the counts, not what costs least on a
    # test-sized table whose statistics other tests' leads skew: sequential scans and the
    # general indexes a small table makes look as cheap are off for this (rolled-back)
    # transaction. The old statement shape could not use the open-leads index at all.
    await raw.execute("SET LOCAL enable_seqscan = off")
    await raw.execute(
        "DROP INDEX ix_leads_organization_id, ix_leads_org_status, ix_leads_member_status"
    )
    try:
        rows = await raw.fetch(f"EXPLAIN EXECUTE member_loads_plan({args})")
    finally:
        await raw.execute("DEALLOCATE member_loads_plan")
    plan = "\n".join(r[0] for r in rows)

    assert "ix_leads_member_open" in plan, plan
    assert "ix_leads_member_routed" in plan, plan
