"""The pull queue: `GET /v1/handoffs`, `POST /v1/handoffs/claim` and the packet."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import Org
from tests.intake.helpers import person, post_lead
from tests.outreach.helpers import key_with, problem_type
from tests.routing.http_helpers import add_member, default_rule, make_team, publish_rules


async def _queued_leads(
    client: httpx.AsyncClient, org: Org, offset: int, count: int, **team_fields: object
) -> tuple[dict[str, object], list[str]]:
    """A team whose leads wait unassigned (it had no members when they arrived)."""
    team = await make_team(client, org, sla_minutes={"default": 60}, **team_fields)
    await publish_rules(client, org, [default_rule(str(team["id"]))])
    ids = []
    for n in range(offset, offset + count):
        r = await post_lead(client, org, person(n))
        assert r.status_code == 201, r.text
        assert r.json()["routing_status"] == "queued"
        ids.append(str(r.json()["lead_id"]))
    return team, ids


async def _claim(client: httpx.AsyncClient, org: Org, **body: object) -> httpx.Response:
    return await client.post("/v1/handoffs/claim", json=body, headers=org.headers)


async def test_two_members_claiming_at_once_get_different_leads(
    client: httpx.AsyncClient, org: Org
) -> None:
    team, ids = await _queued_leads(client, org, 7100, 4)
    ana = await add_member(client, org, str(team["id"]), "Ana", external_id="agent-ana")
    ben = await add_member(client, org, str(team["id"]), "Ben", external_id="agent-ben")
    for _ in range(2):
        a, b = await asyncio.gather(
            _claim(client, org, member_external_id="agent-ana"),
            _claim(client, org, member_id=ben["id"]),
        )
        assert a.status_code == b.status_code == 200, (a.text, b.text)
        assert a.json()["lead_id"] != b.json()["lead_id"]
        assert a.json()["member"]["id"] == ana["id"] and b.json()["member"]["id"] == ben["id"]
    empty = await _claim(client, org, member_id=ana["id"])
    assert empty.status_code == 404 and problem_type(empty) == "queue-empty"
    claimed = await client.get(
        "/v1/handoffs", params={"team": team["id"], "status": "claimed"}, headers=org.headers
    )
    assert sorted(i["lead_id"] for i in claimed.json()["data"]) == sorted(ids)


async def test_queue_order_filters_and_packet(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    team, ids = await _queued_leads(client, org, 7200, 4)
    # emergencies first, then the earliest SLA, then the highest score
    updates = [
        (ids[0], False, "2030-01-01T10:00:00Z", 90),
        (ids[1], False, "2030-01-01T09:00:00Z", 10),
        (ids[2], True, "2030-01-01T12:00:00Z", 5),
        (ids[3], False, "2030-01-01T09:00:00Z", 50),
    ]
    for lead_id, emergency, due, score in updates:
        await session.execute(
            text("UPDATE leads SET emergency = :e, sla_due_at = :d, score = :s WHERE id = :id"),
            {
                "e": emergency,
                "d": dt.datetime.fromisoformat(due),
                "s": score,
                "id": uuid.UUID(lead_id),
            },
        )
    await session.commit()
    reader = await key_with(client, org, "leads:read")
    r = await client.get("/v1/handoffs", params={"team": team["id"]}, headers=reader.headers)
    assert r.status_code == 200, r.text
    assert [i["lead_id"] for i in r.json()["data"]] == [ids[2], ids[3], ids[1], ids[0]]
    assert "contact" not in r.json()["data"][0]  # summaries carry no personal data

    assert (await _claim(client, reader, member_id=str(uuid.uuid4()))).status_code == 403
    member = await add_member(client, org, str(team["id"]), "Cleo", external_id="agent-cleo")
    got = await _claim(client, org, member_external_id="agent-cleo", team_id=team["id"])
    assert got.status_code == 200, got.text
    packet = got.json()
    assert packet["lead_id"] == ids[2] and packet["emergency"] is True
    assert packet["contact"]["phone"] == "+13125557202"
    assert packet["contact"]["first_name"] == "Maria" and "date_of_birth" not in packet["contact"]
    assert packet["reason"].startswith("Knee pain")
    assert packet["preferred_contact_method"] == "sms"
    assert packet["consent"]["channels"]["voice"] == "granted"
    assert packet["consent"]["channels"]["email"] == "none"
    assert packet["source"]["campaign"] == "spring"
    assert packet["team"]["id"] == team["id"] and packet["member"]["external_id"] == "agent-cleo"
    # the member's fields as /v1/members names them; the service code as leads and events do
    assert packet["member"] == {k: member[k] for k in ("id", "display_name", "external_id")}
    listed = (await client.get("/v1/leads", headers=org.headers)).json()["data"]
    [item] = [i for i in listed if i["id"] == ids[2]]
    assert "service_matched" not in packet and packet["service_code"] == item["service_code"]
    assert packet["sla_due_at"] == "2030-01-01T12:00:00Z" and packet["claimed_at"]

    mine = await client.get(
        "/v1/handoffs", params={"member": "agent-cleo", "status": "claimed"}, headers=org.headers
    )
    assert [i["lead_id"] for i in mine.json()["data"]] == [ids[2]]
    opened = await client.get(f"/v1/handoffs/{ids[0]}", headers=org.headers)
    assert opened.status_code == 200 and opened.json()["claimed_at"] is None
    actions = await session.execute(
        text("SELECT action FROM audit_events WHERE organization_id = :org"), {"org": org.id}
    )
    assert {"handoff.claim", "handoff.packet_read"} <= set(actions.scalars())
    timeline = await client.get(f"/v1/leads/{ids[2]}/timeline", headers=org.headers)
    assert "handoff.claimed" in [e["type"] for e in timeline.json()["events"]]
    assert member["team_id"] == team["id"]


async def test_claim_checks_member_team_and_tenancy(
    client: httpx.AsyncClient, org: Org, other_org: Org
) -> None:
    team, _ = await _queued_leads(client, org, 7300, 1)
    other_team = await make_team(client, org, name="Other desk")
    member = await add_member(client, org, str(team["id"]), "Dee", external_id="agent-dee")
    wrong = await _claim(client, org, member_id=member["id"], team_id=other_team["id"])
    assert wrong.status_code == 422 and problem_type(wrong) == "member-not-in-team"
    assert (await _claim(client, other_org, member_id=member["id"])).status_code == 404
    assert (await _claim(client, org, member_external_id="nobody")).status_code == 404
    both = await _claim(client, org, member_id=member["id"], member_external_id="agent-dee")
    assert both.status_code == 422
    assert (
        await client.get(f"/v1/handoffs/{uuid.uuid4()}", headers=org.headers)
    ).status_code == 404
