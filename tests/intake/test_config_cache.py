"""The per-process configuration cache is never stale: a change reaches the very next lead.

Intake caches teams, members, the live rule set version, scoring settings and webhook
subscriptions per organisation (app.configcache); writes bump organizations.config_version.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine

from app import configcache
from app.outbox.models import WebhookMessage
from app.routing import rulesets
from app.routing.models import Team
from tests.conftest import Org
from tests.handoff.conftest import subscribe
from tests.intake.helpers import person, post_lead
from tests.routing.http_helpers import (
    add_member,
    create_ruleset,
    default_rule,
    make_team,
    publish,
    publish_rules,
)


async def _lead(client: httpx.AsyncClient, org: Org, n: int) -> dict[str, Any]:
    r = await post_lead(client, org, person(n))
    assert r.status_code == 201, r.text
    return dict(r.json())


async def _version(session: AsyncSession, org_id: uuid.UUID) -> int:
    found = await session.scalar(
        text("SELECT config_version FROM organizations WHERE id = :o"), {"o": org_id}
    )
    return int(found)


async def test_api_changes_reach_the_very_next_lead(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    team = await make_team(client, org)
    ana = await add_member(client, org, team["id"], "Ana")
    ben = await add_member(client, org, team["id"], "Ben")
    await publish_rules(client, org, [default_rule(team["id"])])
    assert (await _lead(client, org, 1))["member_id"] == ana["id"]
    assert (org.id, "routing") in configcache._cache  # warm from here on

    # A member deactivated: the rotation skips them from the next lead on.
    r = await client.patch(
        f"/v1/members/{ana['id']}", json={"status": "inactive"}, headers=org.headers
    )
    assert r.status_code == 200, r.text
    assert {(await _lead(client, org, n))["member_id"] for n in (2, 3, 4)} == {ben["id"]}

    # A member added.
    cleo = await add_member(client, org, team["id"], "Cleo")
    assert {(await _lead(client, org, n))["member_id"] for n in (5, 6)} == {ben["id"], cleo["id"]}

    # A team changed: one open lead each is everyone's capacity, so the lead is queued.
    r = await client.patch(
        f"/v1/teams/{team['id']}", json={"capacity_per_member": 1}, headers=org.headers
    )
    assert r.status_code == 200, r.text
    queued = await _lead(client, org, 7)
    assert queued["routing_status"] == "queued" and queued["member_id"] is None

    # A new rule set published, to another team.
    other = await make_team(client, org, "Call center")
    dana = await add_member(client, org, other["id"], "Dana")
    await publish_rules(client, org, [default_rule(other["id"])])
    routed = await _lead(client, org, 8)
    assert (routed["team_id"], routed["member_id"]) == (other["id"], dana["id"])

    # A subscription added: the next lead's events go out.
    await subscribe(client, org, "http://127.0.0.1:9/hook", ["lead.received"])
    lead = await _lead(client, org, 9)
    sent = await session.scalar(
        select(func.count())
        .select_from(WebhookMessage)
        .where(WebhookMessage.lead_id == uuid.UUID(lead["lead_id"]))
    )
    assert sent == 1


async def test_a_change_committed_by_another_process_is_seen(
    client: httpx.AsyncClient, org: Org, engine: AsyncEngine
) -> None:
    """The other process writes with its own engine and never touches this process's cache."""
    team = await make_team(client, org)
    ana = await add_member(client, org, team["id"], "Ana")
    ben = await add_member(client, org, team["id"], "Ben")
    await publish_rules(client, org, [default_rule(team["id"])])
    assert (await _lead(client, org, 1))["member_id"] == ana["id"]
    other = await make_team(client, org, "Overflow desk")
    cleo = await add_member(client, org, other["id"], "Cleo")
    draft = await create_ruleset(client, org, [default_rule(other["id"])])
    assert (await _lead(client, org, 2))["member_id"] == ben["id"]
    assert configcache._cache[(org.id, "routing")][1].teams[team["id"]].members

    elsewhere = create_async_engine(engine.url)
    try:
        async with AsyncSession(elsewhere) as s, s.begin():
            await s.execute(
                text("UPDATE members SET status = 'inactive' WHERE id = :id"), {"id": ana["id"]}
            )
        assert {(await _lead(client, org, n))["member_id"] for n in (3, 4)} == {ben["id"]}

        async with AsyncSession(elsewhere) as s, s.begin():
            await rulesets.publish(s, org.id, uuid.UUID(draft["id"]))
        routed = await _lead(client, org, 5)
        assert (routed["team_id"], routed["member_id"]) == (other["id"], cleo["id"])
    finally:
        await elsewhere.dispose()


async def test_every_write_to_a_config_table_bumps_the_version(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    before = await _version(session, org.id)
    team = await make_team(client, org)
    after_team = await _version(session, org.id)
    assert after_team > before
    member = await add_member(client, org, team["id"], "Ana")
    assert await _version(session, org.id) > after_team
    seen = await _version(session, org.id)
    await session.execute(text("DELETE FROM members WHERE id = :id"), {"id": member["id"]})
    await session.commit()
    assert await _version(session, org.id) > seen
    seen = await _version(session, org.id)
    made = await create_ruleset(client, org, [default_rule(team["id"])])
    await publish(client, org, made["id"])
    assert await _version(session, org.id) > seen
    seen = await _version(session, org.id)
    r = await client.put(
        "/v1/scoring-settings", json={"duplicate_window_hours": 2}, headers=org.headers
    )
    assert r.is_success, r.text
    assert await _version(session, org.id) > seen
    seen = await _version(session, org.id)
    await subscribe(client, org, "http://127.0.0.1:9/hook", ["lead.routed"])
    assert await _version(session, org.id) > seen


async def test_a_rolled_back_change_never_hands_its_version_to_other_data(
    engine: AsyncEngine, org: Org
) -> None:
    async with AsyncSession(engine) as s:
        s.add(Team(id=uuid.uuid4(), organization_id=org.id, name="x"))
        await s.flush()
        rolled_back = await _version(s, org.id)
        await s.rollback()
        s.add(Team(id=uuid.uuid4(), organization_id=org.id, name="y"))
        await s.flush()
        assert await _version(s, org.id) != rolled_back
        await s.rollback()
