"""Fairness under concurrency: real commits, separate connections, 50 requests at a time."""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx

from tests.conftest import Org
from tests.intake.helpers import person, post_lead
from tests.routing.http_helpers import add_member, default_rule, make_team, publish_rules

BATCH = 50
# The API allows 600 requests a minute per key; senders (like API workers) get a key each.
SENDERS = 3


async def _senders(client: httpx.AsyncClient, org: Org) -> list[Org]:
    out = []
    for i in range(SENDERS):
        r = await client.post(
            "/v1/api-keys",
            json={"name": f"sender {i}", "scopes": ["leads:write"]},
            headers=org.headers,
        )
        assert r.status_code == 201, r.text
        out.append(Org(org.id, r.json()["key"]))
    return out


async def _post_all(client: httpx.AsyncClient, org: Org, count: int, offset: int) -> Counter[str]:
    senders = await _senders(client, org)
    got: Counter[str] = Counter()
    for start in range(0, count, BATCH):
        batch = range(start, min(start + BATCH, count))
        answers = await asyncio.gather(
            *(post_lead(client, senders[n % SENDERS], person(offset + n)) for n in batch)
        )
        for r in answers:
            assert r.status_code == 201, r.text
            assert r.json()["routing_status"] == "assigned"
            got[r.json()["member_id"]] += 1
    return got


async def test_round_robin_999_concurrent_leads_split_exactly(
    client: httpx.AsyncClient, org: Org
) -> None:
    team = await make_team(client, org, strategy="round_robin")
    members = [await add_member(client, org, team["id"], n) for n in ("Ana", "Ben", "Cleo")]
    await publish_rules(client, org, [default_rule(team["id"])])

    got = await _post_all(client, org, 999, 0)

    assert got == {m["id"]: 333 for m in members}


async def test_weighted_2_1_1_over_1000_concurrent_leads(
    client: httpx.AsyncClient, org: Org
) -> None:
    team = await make_team(client, org, strategy="weighted")
    heavy = await add_member(client, org, team["id"], "Heavy", weight=2)
    light = [await add_member(client, org, team["id"], n) for n in ("L1", "L2")]
    await publish_rules(client, org, [default_rule(team["id"])])

    got = await _post_all(client, org, 1000, 5000)

    assert abs(got[heavy["id"]] / 1000 - 0.50) <= 0.02
    for m in light:
        assert abs(got[m["id"]] / 1000 - 0.25) <= 0.02
