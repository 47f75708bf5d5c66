from __future__ import annotations

import httpx

from tests.conftest import Org
from tests.intake.helpers import person, post_lead
from tests.routing.http_helpers import (
    create_ruleset,
    default_rule,
    get_lead,
    publish,
    publish_rules,
    team_with_members,
)


async def test_invalid_rules_answer_422_with_json_pointers(
    client: httpx.AsyncClient, org: Org
) -> None:
    team, _ = await team_with_members(client, org, ["Ana"])
    r = await client.post(
        "/v1/routing/rulesets",
        json={
            "rules": [
                {"name": "ghost", "conditions": [{"field": "service", "op": "eq", "value": "x"}],
                 "team_id": "00000000-0000-0000-0000-000000000000"},
                {"name": "bad op", "conditions": [{"field": "score", "op": "prefix", "value": 1}],
                 "team_id": team["id"]},
            ]
        },
        headers=org.headers,
    )  # fmt: skip
    assert r.status_code == 422
    fields = {e["field"] for e in r.json()["errors"]}
    assert "/rules/0/team_id" in fields
    assert "/rules/1/conditions/0/op" in fields
    assert "/rules/1" in fields  # the last rule must be the default


async def test_one_published_rule_set_and_immutable_versions(
    client: httpx.AsyncClient, org: Org
) -> None:
    team, _ = await team_with_members(client, org, ["Ana"])
    first = await create_ruleset(client, org, [default_rule(team["id"])])
    second = await create_ruleset(client, org, [default_rule(team["id"])])
    assert (first["version"], second["version"]) == (1, 2)
    await publish(client, org, first["id"])
    await publish(client, org, second["id"])
    listed = (await client.get("/v1/routing/rulesets", headers=org.headers)).json()["data"]
    assert {r["version"]: r["status"] for r in listed} == {1: "archived", 2: "published"}
    r = await client.patch(
        f"/v1/routing/rulesets/{second['id']}", json={"name": "x"}, headers=org.headers
    )
    assert r.status_code == 409
    assert (await client.post(f"/v1/routing/rulesets/{second['id']}/publish",
                              headers=org.headers)).status_code == 409  # fmt: skip
    r = await client.delete(f"/v1/routing/rulesets/{first['id']}", headers=org.headers)
    assert r.status_code == 409
    draft = await create_ruleset(client, org, [default_rule(team["id"])])
    r = await client.patch(
        f"/v1/routing/rulesets/{draft['id']}", json={"name": "renamed"}, headers=org.headers
    )
    assert r.json()["name"] == "renamed"
    r = await client.delete(f"/v1/routing/rulesets/{draft['id']}", headers=org.headers)
    assert r.status_code == 204


async def test_without_a_published_rule_set_leads_wait_unrouted(
    client: httpx.AsyncClient, org: Org
) -> None:
    await team_with_members(client, org, ["Ana"])
    r = await post_lead(client, org, person(1))
    assert r.status_code == 201, r.text
    assert r.json()["routing_status"] == "unrouted"
    lead = await get_lead(client, org, r.json()["lead_id"])
    assert lead["status"] == "new"
    assert lead["routing"]["team_id"] is None
    assert "no published rule set" in lead["routing"]["trace"]["notes"][0]


async def test_publishing_changes_the_next_lead_not_routed_ones(
    client: httpx.AsyncClient, org: Org
) -> None:
    team_a, (ana,) = await team_with_members(client, org, ["Ana"], name="A")
    team_b, (ben,) = await team_with_members(client, org, ["Ben"], name="B")
    await publish_rules(client, org, [default_rule(team_a["id"])])
    first = (await post_lead(client, org, person(1))).json()
    await publish_rules(client, org, [default_rule(team_b["id"], id="to-b")])
    second = (await post_lead(client, org, person(2))).json()

    assert (first["team_id"], first["member_id"]) == (team_a["id"], ana["id"])
    assert (second["team_id"], second["member_id"]) == (team_b["id"], ben["id"])
    old = (await get_lead(client, org, first["lead_id"]))["routing"]
    new = (await get_lead(client, org, second["lead_id"]))["routing"]
    assert (old["team_id"], old["ruleset_version"], old["rule_id"]) == (team_a["id"], 1, "default")
    assert (new["ruleset_version"], new["rule_id"]) == (2, "to-b")


async def test_first_matching_rule_wins_and_the_trace_explains_it(
    client: httpx.AsyncClient, org: Org
) -> None:
    spanish, (sofia,) = await team_with_members(client, org, ["Sofia"], name="Spanish line")
    general, _ = await team_with_members(client, org, ["Gus"], name="General")
    rules = [
        {"id": "partners", "name": "partner referrals",
         "conditions": [{"field": "source_kind", "op": "prefix", "value": "web"}],
         "team_id": general["id"]},
        {"id": "spanish", "name": "Spanish speakers",
         "conditions": [{"field": "language", "op": "in", "value": ["es", "es-MX"]},
                        {"field": "campaign", "op": "eq", "value": "SPRING"}],
         "team_id": spanish["id"]},
        default_rule(general["id"]),
    ]  # fmt: skip
    await publish_rules(client, org, rules)
    answer = (await post_lead(client, org, person(3, language="es"))).json()
    assert (answer["team_id"], answer["member_id"]) == (spanish["id"], sofia["id"])
    trace = (await get_lead(client, org, answer["lead_id"]))["routing"]["trace"]
    assert trace["rule_id"] == "spanish"
    # one level: the decision's fields beside the rules it tried, no `trace.trace`
    assert "trace" not in trace
    tried = trace["rules"]
    assert [(t["rule_id"], t["matched"]) for t in tried] == [("partners", False), ("spanish", True)]
    assert tried[0]["conditions"][0]["actual"] == "api"


async def test_other_orgs_rule_sets_are_404(
    client: httpx.AsyncClient, org: Org, other_org: Org
) -> None:
    team, _ = await team_with_members(client, other_org, ["Zed"])
    theirs = await create_ruleset(client, other_org, [default_rule(team["id"])])
    r = await client.post(f"/v1/routing/rulesets/{theirs['id']}/publish", headers=org.headers)
    assert r.status_code == 404
    r = await client.post(
        "/v1/routing/rulesets", json={"rules": [default_rule(team["id"])]}, headers=org.headers
    )
    assert r.status_code == 422  # their team is not one of ours


async def test_stored_trace_lists_only_the_rules_evaluated(
    client: httpx.AsyncClient, org: Org
) -> None:
    team, _ = await team_with_members(client, org, ["Ana"])
    rules = [
        {"id": f"c{i}", "name": f"campaign {i}", "team_id": team["id"],
         "conditions": [{"field": "campaign", "op": "eq", "value": f"campaign-{i}"}]}
        for i in range(100)
    ]  # fmt: skip
    await publish_rules(client, org, [*rules, default_rule(team["id"])])
    answer = (await post_lead(client, org, person(1))).json()
    trace = (await get_lead(client, org, answer["lead_id"]))["routing"]["trace"]
    assert [r["rule_id"] for r in trace["rules"]] == ["default"]
    assert trace["rules_omitted"] == 100
