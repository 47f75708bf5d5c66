from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import Org
from tests.intake.helpers import person, post_lead
from tests.routing.http_helpers import (
    create_ruleset,
    default_rule,
    get_lead,
    publish_rules,
    team_with_members,
)


async def _simulate(client: httpx.AsyncClient, org: Org, **body: object) -> dict[str, object]:
    r = await client.post("/v1/routing/simulate", json=body, headers=org.headers)
    assert r.status_code == 200, r.text
    return dict(r.json())


async def test_simulation_equals_what_posting_the_lead_yields(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    team, _ = await team_with_members(client, org, ["Ana", "Ben", "Cleo"])
    await publish_rules(client, org, [default_rule(team["id"])])
    await post_lead(client, org, person(1))
    count = text("SELECT count(*) FROM leads WHERE organization_id = :o")
    before = await session.scalar(count, {"o": org.id})

    for n in (2, 3, 4):
        sim = await _simulate(client, org, lead=person(n))
        posted = (await post_lead(client, org, person(n))).json()
        assert sim["routing"] == {k: posted[k] for k in sim["routing"]}  # type: ignore[attr-defined]
        stored = (await get_lead(client, org, posted["lead_id"]))["routing"]["trace"]
        decision = sim["decision"]
        assert isinstance(decision, dict)
        assert decision["member_id"] == stored["member_id"]
        assert decision["rules"] == stored["rules"]
        assert "trace" not in decision and "trace" not in stored
    assert await session.scalar(count, {"o": org.id}) == before + 3


async def test_simulation_with_a_draft_changes_nothing(client: httpx.AsyncClient, org: Org) -> None:
    live_team, (ana,) = await team_with_members(client, org, ["Ana"], name="Live")
    new_team, (ned,) = await team_with_members(client, org, ["Ned"], name="New")
    await publish_rules(client, org, [default_rule(live_team["id"])])
    draft = await create_ruleset(client, org, [default_rule(new_team["id"], id="new")])

    sim = await _simulate(client, org, lead=person(1), ruleset_id=draft["id"])

    assert sim["routing"]["member_id"] == ned["id"]  # type: ignore[index]
    assert sim["decision"]["rule_id"] == "new"  # type: ignore[index]
    assert (await post_lead(client, org, person(1))).json()["member_id"] == ana["id"]


async def test_replay_compares_actual_and_simulated_distribution(
    client: httpx.AsyncClient, org: Org
) -> None:
    old, (ana,) = await team_with_members(client, org, ["Ana"], name="Old")
    new, (ned, nia) = await team_with_members(client, org, ["Ned", "Nia"], name="New")
    await publish_rules(client, org, [default_rule(old["id"])])
    start = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    for n in range(4):
        await post_lead(client, org, person(n))
    draft = await create_ruleset(client, org, [default_rule(new["id"])])
    end = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)

    out = await _simulate(
        client, org, ruleset_id=draft["id"], **{"from": start.isoformat(), "to": end.isoformat()}
    )

    assert (out["leads"], out["changed"]) == (4, 4)
    teams = {t["team_id"]: (t["actual"], t["simulated"]) for t in out["teams"]}  # type: ignore[attr-defined]
    assert teams == {old["id"]: (4, 0), new["id"]: (0, 4)}
    members = {m["member_id"]: (m["actual"], m["simulated"]) for m in out["members"]}  # type: ignore[attr-defined]
    assert members == {ana["id"]: (4, 0), ned["id"]: (0, 2), nia["id"]: (0, 2)}


async def test_simulate_needs_a_lead_or_a_range(client: httpx.AsyncClient, org: Org) -> None:
    r = await client.post("/v1/routing/simulate", json={}, headers=org.headers)
    assert r.status_code == 422
    r = await client.post("/v1/routing/simulate", json={"lead": {"phone": 12}}, headers=org.headers)
    assert r.status_code == 422


async def test_reassign_to_a_member_or_a_team_is_traced_and_audited(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    desk, (ana, ben) = await team_with_members(client, org, ["Ana", "Ben"], name="Desk")
    nurses, (nina,) = await team_with_members(client, org, ["Nina"], name="Nurses")
    await publish_rules(client, org, [default_rule(desk["id"])])
    lead_id = (await post_lead(client, org, person(1))).json()["lead_id"]
    url = f"/v1/leads/{lead_id}/reassign"

    r = await client.post(
        url, json={"member_id": ben["id"], "reason": "Maria asked for Ben"}, headers=org.headers
    )
    assert r.status_code == 200, r.text
    assert (r.json()["team_id"], r.json()["member_id"]) == (desk["id"], ben["id"])
    r = await client.post(
        url, json={"team_id": nurses["id"], "reason": "clinical question"}, headers=org.headers
    )
    assert r.json()["member_id"] == nina["id"]

    routing = (await get_lead(client, org, lead_id))["routing"]
    events = routing["trace"]["events"]
    assert [e["to"]["member_id"] for e in events] == [ben["id"], nina["id"]]
    assert events[0]["from"]["member_id"] == ana["id"]
    # the team's decision, one level like the lead's own
    assert "trace" not in events[1]["decision"] and events[1]["decision"]["teams"]
    assert routing["rule_id"] == "default"  # what routed it first is kept
    details = (
        (
            await session.execute(
                # This organisation's: committed tests leave reassignments of their own.
                text(
                    "SELECT details::text FROM audit_events"
                    " WHERE action = 'lead.reassign' AND organization_id = :org"
                ),
                {"org": org.id},
            )
        )
        .scalars()
        .all()
    )
    assert len(details) == 2
    assert all("Maria" not in d and "clinical" not in d for d in details)
    # The reasons are the lead's to show, and kept encrypted: the row holds neither.
    assert [e["reason"] for e in events] == ["Maria asked for Ben", "clinical question"]
    row = (
        await session.execute(text("SELECT l::text FROM leads l WHERE id = :id"), {"id": lead_id})
    ).scalar_one()
    assert "Maria" not in row and "clinical" not in row
    # Erased with the lead.
    r = await client.delete(f"/v1/leads/{lead_id}", headers=org.headers)
    assert r.status_code == 200, r.text
    events = (await get_lead(client, org, lead_id))["routing"]["trace"]["events"]
    assert [e["to"]["member_id"] for e in events] == [ben["id"], nina["id"]]
    assert all("reason" not in e for e in events)


async def test_reassign_checks_scope_tenancy_and_body(
    client: httpx.AsyncClient, org: Org, other_org: Org
) -> None:
    desk, (ana,) = await team_with_members(client, org, ["Ana"])
    _, (zed,) = await team_with_members(client, other_org, ["Zed"])
    await publish_rules(client, org, [default_rule(desk["id"])])
    lead_id = (await post_lead(client, org, person(1))).json()["lead_id"]
    url = f"/v1/leads/{lead_id}/reassign"
    r = await client.post(url, json={"member_id": zed["id"], "reason": "x"}, headers=org.headers)
    assert r.status_code == 404
    r = await client.post(
        f"/v1/leads/{lead_id}/reassign",
        json={"member_id": ana["id"], "reason": "x"},
        headers=other_org.headers,
    )
    assert r.status_code == 404
    both = {"member_id": ana["id"], "team_id": desk["id"], "reason": "x"}
    assert (await client.post(url, json=both, headers=org.headers)).status_code == 422
    key = await client.post(
        "/v1/api-keys", json={"name": "r", "scopes": ["leads:read"]}, headers=org.headers
    )
    reader = {"Authorization": f"Bearer {key.json()['key']}"}
    r = await client.post(url, json={"member_id": ana["id"], "reason": "x"}, headers=reader)
    assert r.status_code == 403


def _loads(decision: dict[str, Any]) -> dict[str, int]:
    """Each candidate's open leads as the decision saw them."""
    [step] = decision["teams"]
    return {c["member_id"]: c["open_leads"] for c in step["candidates"]}


async def test_simulating_spends_no_turn_and_claims_no_member(
    client: httpx.AsyncClient, org: Org
) -> None:
    """Committed requests, as in production: a simulation neither moves the rotation nor
    leaves a claim counting against a member, so the lead posted afterwards goes where the
    simulations said."""
    team, (ana, ben) = await team_with_members(client, org, ["Ana", "Ben"])
    await publish_rules(client, org, [default_rule(team["id"])])
    idle = {ana["id"]: 0, ben["id"]: 0}

    first = await _simulate(client, org, lead=person(1))
    second = await _simulate(client, org, lead=person(1))
    posted = (await post_lead(client, org, person(1))).json()

    chosen = {(s["routing"]["team_id"], s["routing"]["member_id"]) for s in (first, second)}  # type: ignore[index]
    assert chosen == {(team["id"], posted["member_id"])}
    assert posted["team_id"] == team["id"]
    for sim in (first, second):
        assert _loads(sim["decision"]) == idle  # type: ignore[arg-type]
    stored = (await get_lead(client, org, posted["lead_id"]))["routing"]["trace"]
    assert _loads(stored) == idle
    # The posted lead alone counts, and the next lead takes the next turn.
    after = await _simulate(client, org, lead=person(2))
    assert _loads(after["decision"]) == {**idle, posted["member_id"]: 1}  # type: ignore[arg-type]
    other = ben["id"] if posted["member_id"] == ana["id"] else ana["id"]
    assert (await post_lead(client, org, person(2))).json()["member_id"] == other
