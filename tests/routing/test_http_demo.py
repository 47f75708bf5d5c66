from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from app.demo import practice as practice_demo
from app.demo import routing as routing_demo
from tests.conftest import Org
from tests.intake.helpers import person, post_lead


async def test_demo_teams_rules_and_a_routed_lead(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    await practice_demo.seed(session, org.id)
    await routing_demo.seed(session, org.id)
    await session.commit()

    teams = (await client.get("/v1/teams", headers=org.headers)).json()["data"]
    kinds = sorted(t["kind"] for t in teams)
    assert kinds == ["coordinator", "front_desk", "front_desk", "nurse_line", "nurture"]
    assert all(t["members"] for t in teams)
    rulesets = (await client.get("/v1/routing/rulesets", headers=org.headers)).json()["data"]
    assert [r["status"] for r in rulesets] == ["published"]
    rule_ids = {r["id"] for r in rulesets[0]["rules"]}
    assert {"sleep", "ortho-location-1", "ortho-location-2", "default"} <= rule_ids

    answer = (await post_lead(client, org, person(1))).json()
    assert answer["team_id"] in {t["id"] for t in teams}
    assert answer["routing_status"] in ("assigned", "queued")
