from __future__ import annotations

import httpx

from tests.conftest import Org
from tests.routing.http_helpers import add_member, make_team

PROBLEM = "application/problem+json"


async def test_team_with_members_round_trips(client: httpx.AsyncClient, org: Org) -> None:
    team = await make_team(
        client,
        org,
        name="Lakeshore front desk",
        kind="front_desk",
        services=["orthopedics"],
        languages=["en", "es"],
        hours={"mon": [["08:00", "17:00"]], "sat": [["09:00", "12:00"]]},
        time_zone="America/Chicago",
        holidays=["2026-12-25"],
        sla_minutes={"emergency": 5, "urgent": 15, "soon": 60, "routine": 240},
        capacity_per_member=25,
        strategy="weighted",
    )
    ana = await add_member(client, org, team["id"], "Ana", external_id="agent-1", weight=2)
    ben = await add_member(client, org, team["id"], "Ben", languages=["en"], daily_cap=40)

    got = (await client.get(f"/v1/teams/{team['id']}", headers=org.headers)).json()
    assert [m["id"] for m in got["members"]] == [ana["id"], ben["id"]]
    assert got["holidays"] == ["2026-12-25"]
    assert got["sla_minutes"]["urgent"] == 15
    r = await client.patch(
        f"/v1/members/{ben['id']}",
        json={"status": "away", "away_until": "2030-01-01T09:00:00-06:00"},
        headers=org.headers,
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "away"
    r = await client.patch(
        f"/v1/members/{ben['id']}", json={"status": "active"}, headers=org.headers
    )
    assert r.json()["away_until"] is None
    listed = (await client.get("/v1/teams", headers=org.headers)).json()["data"]
    assert [t["id"] for t in listed] == [team["id"]]


async def test_invalid_hours_point_at_the_field(client: httpx.AsyncClient, org: Org) -> None:
    r = await client.post(
        "/v1/teams",
        json={"name": "Bad", "hours": {"mon": [["08:00", "25:00"]]}, "time_zone": "UTC"},
        headers=org.headers,
    )
    assert r.status_code == 422
    assert r.headers["content-type"].startswith(PROBLEM)
    assert r.json()["errors"][0]["field"].startswith("/hours/mon/0")
    r = await client.post(
        "/v1/teams", json={"name": "Bad", "time_zone": "Mars/Olympus"}, headers=org.headers
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "/time_zone"


async def test_duplicate_external_id_is_a_conflict(client: httpx.AsyncClient, org: Org) -> None:
    team = await make_team(client, org)
    await add_member(client, org, team["id"], "Ana", external_id="agent-1")
    r = await client.post(
        f"/v1/teams/{team['id']}/members",
        json={"display_name": "Other", "external_id": "agent-1"},
        headers=org.headers,
    )
    assert r.status_code == 409


async def test_overflow_must_be_another_team_of_the_org(
    client: httpx.AsyncClient, org: Org, other_org: Org
) -> None:
    mine = await make_team(client, org)
    theirs = await make_team(client, other_org)
    for target in (theirs["id"], mine["id"]):
        r = await client.patch(
            f"/v1/teams/{mine['id']}", json={"overflow_team_id": target}, headers=org.headers
        )
        assert r.status_code == 422
        assert r.json()["errors"][0]["field"] == "/overflow_team_id"


async def test_other_orgs_teams_and_members_are_404(
    client: httpx.AsyncClient, org: Org, other_org: Org
) -> None:
    theirs = await make_team(client, other_org)
    member = await add_member(client, other_org, theirs["id"], "Zed")
    assert (await client.get(f"/v1/teams/{theirs['id']}", headers=org.headers)).status_code == 404
    r = await client.post(
        f"/v1/teams/{theirs['id']}/members", json={"display_name": "X"}, headers=org.headers
    )
    assert r.status_code == 404
    r = await client.patch(
        f"/v1/members/{member['id']}", json={"status": "inactive"}, headers=org.headers
    )
    assert r.status_code == 404
    assert (await client.get("/v1/teams", headers=org.headers)).json()["data"] == []


async def test_teams_need_the_admin_scope(client: httpx.AsyncClient, org: Org) -> None:
    r = await client.post(
        "/v1/api-keys", json={"name": "w", "scopes": ["leads:write"]}, headers=org.headers
    )
    writer = {"Authorization": f"Bearer {r.json()['key']}"}
    assert (await client.get("/v1/teams", headers=writer)).status_code == 403
