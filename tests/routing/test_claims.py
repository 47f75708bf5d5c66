"""Routing in its own short transaction: member claims keep capacity exact (migration 0011).

Most tests run the production path: real commits, separate connections, the rotation lock
held only for the member choice. The last runs routing inside its caller's transaction
(one connection, rolled back), which counts claims in member loads the same way.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections import Counter
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from app.config import Settings
from app.db import get_session
from app.main import create_app
from app.routing.queries import CLAIM_TTL
from tests.conftest import Org, _client
from tests.intake.helpers import person, post_lead
from tests.routing.http_helpers import add_member, default_rule, make_team, publish_rules


async def _claim(
    db: AsyncEngine | AsyncConnection, org: Org, member_id: str, age: dt.timedelta
) -> uuid.UUID:
    """A claim left by an intake whose lead never committed."""
    lead_id = uuid.uuid4()
    stmt = text(
        "INSERT INTO routing_claims (lead_id, organization_id, member_id, claimed_at) "
        "VALUES (:lead, :org, :member, :at)"
    )
    at = dt.datetime.now(dt.UTC) - age
    params = {"lead": lead_id, "org": org.id, "member": uuid.UUID(member_id), "at": at}
    if isinstance(db, AsyncEngine):
        async with db.begin() as conn:
            await conn.execute(stmt, params)
    else:
        await db.execute(stmt, params)
    return lead_id


async def _claims(engine: AsyncEngine, org: Org) -> list[uuid.UUID]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT lead_id FROM routing_claims WHERE organization_id = :org"),
            {"org": org.id},
        )
        return [r[0] for r in rows]


async def test_capacity_holds_exactly_under_concurrent_leads(
    client: httpx.AsyncClient, org: Org, engine: AsyncEngine
) -> None:
    team = await make_team(client, org, capacity_per_member=4)
    members = [await add_member(client, org, team["id"], n) for n in ("Ana", "Ben", "Cleo")]
    await publish_rules(client, org, [default_rule(team["id"])])

    answers = await asyncio.gather(*(post_lead(client, org, person(7000 + n)) for n in range(20)))

    assert all(r.status_code == 201 for r in answers), [r.text for r in answers]
    got = Counter(r.json()["member_id"] for r in answers)
    # Twelve places, twenty leads: every member full, never over, the rest wait in the queue.
    assert got == {**{m["id"]: 4 for m in members}, None: 8}
    assert {r.json()["routing_status"] for r in answers if r.json()["member_id"] is None} == {
        "queued"
    }
    # Every lead committed, so each has taken its claim's place.
    assert await _claims(engine, org) == []


async def test_claim_of_a_lead_that_never_committed_counts_until_it_expires(
    client: httpx.AsyncClient, org: Org, engine: AsyncEngine
) -> None:
    team = await make_team(client, org, capacity_per_member=1)
    ana, ben = [await add_member(client, org, team["id"], n) for n in ("Ana", "Ben")]
    await publish_rules(client, org, [default_rule(team["id"])])
    live = await _claim(engine, org, ana["id"], dt.timedelta(seconds=5))
    expired = await _claim(engine, org, ben["id"], CLAIM_TTL + dt.timedelta(minutes=1))

    first = await post_lead(client, org, person(7100))
    second = await post_lead(client, org, person(7101))

    # Ana's one place is held by the live claim; Ben's expired claim holds nothing.
    assert first.json()["member_id"] == ben["id"]
    assert second.json()["member_id"] is None
    # The expired claim was cleared by a lead's transaction; the live one stays.
    assert await _claims(engine, org) == [live]
    assert expired not in await _claims(engine, org)


@pytest.fixture
async def one_transaction(
    engine: AsyncEngine, settings: Settings
) -> AsyncIterator[tuple[AsyncConnection, httpx.AsyncClient]]:
    """A client whose requests share one connection's transaction, rolled back at the end.
    Kept for the one test below: an intake request routes inside its own transaction only
    when its session has no engine to commit the member choice apart on."""
    app = create_app(settings, manage_database=False)
    async with engine.connect() as conn:
        trans = await conn.begin()

        async def one_connection() -> AsyncIterator[AsyncSession]:
            async with AsyncSession(
                bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False
            ) as s:
                yield s
                await s.commit()

        app.dependency_overrides[get_session] = one_connection
        try:
            async with _client(app) as c:
                yield conn, c
        finally:
            await trans.rollback()


async def test_member_loads_count_live_claims_inside_a_transaction(
    one_transaction: tuple[AsyncConnection, httpx.AsyncClient], org: Org
) -> None:
    conn, client = one_transaction
    # Routing inside a caller's transaction (SLA escalation, reassignment, simulation)
    # reads the same loads.
    team = await make_team(client, org, capacity_per_member=1)
    ana, ben = [await add_member(client, org, team["id"], n) for n in ("Ana", "Ben")]
    await publish_rules(client, org, [default_rule(team["id"])])
    await _claim(conn, org, ana["id"], dt.timedelta(seconds=5))

    r = await post_lead(client, org, person(7200))

    assert r.json()["member_id"] == ben["id"]
