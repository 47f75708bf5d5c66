"""Shared helpers for the routing HTTP tests."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import Org


async def make_team(
    client: httpx.AsyncClient, org: Org, name: str = "Front desk", **fields: Any
) -> dict[str, Any]:
    r = await client.post("/v1/teams", json={"name": name, **fields}, headers=org.headers)
    assert r.status_code == 201, r.text
    return dict(r.json())


async def add_member(
    client: httpx.AsyncClient, org: Org, team_id: str, name: str, **fields: Any
) -> dict[str, Any]:
    r = await client.post(
        f"/v1/teams/{team_id}/members",
        json={"display_name": name, **fields},
        headers=org.headers,
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


async def team_with_members(
    client: httpx.AsyncClient, org: Org, names: list[str], **team_fields: Any
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    team = await make_team(client, org, **team_fields)
    members = [await add_member(client, org, team["id"], n) for n in names]
    return team, members


async def create_ruleset(
    client: httpx.AsyncClient, org: Org, rules: list[dict[str, Any]], name: str = "rules"
) -> dict[str, Any]:
    r = await client.post(
        "/v1/routing/rulesets", json={"name": name, "rules": rules}, headers=org.headers
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


async def publish(client: httpx.AsyncClient, org: Org, ruleset_id: str) -> dict[str, Any]:
    r = await client.post(f"/v1/routing/rulesets/{ruleset_id}/publish", headers=org.headers)
    assert r.status_code == 200, r.text
    return dict(r.json())


async def publish_rules(
    client: httpx.AsyncClient, org: Org, rules: list[dict[str, Any]]
) -> dict[str, Any]:
    made = await create_ruleset(client, org, rules)
    return await publish(client, org, made["id"])


def default_rule(team_id: str, **extra: Any) -> dict[str, Any]:
    return {"id": "default", "name": "everyone else", "team_id": team_id, **extra}


async def get_lead(client: httpx.AsyncClient, org: Org, lead_id: str) -> dict[str, Any]:
    r = await client.get(f"/v1/leads/{lead_id}", headers=org.headers)
    assert r.status_code == 200, r.text
    return dict(r.json())
