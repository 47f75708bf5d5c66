"""`GET /v1/audit-events` and `GET /v1/leads/{id}/access-log`: who read or changed this lead,
when, from where (45 CFR 164.312(b))."""

from __future__ import annotations

import csv
import datetime as dt
import io

import httpx

from tests.conftest import Org
from tests.consent.helpers import new_lead
from tests.outreach.helpers import key_with


async def _events(client: httpx.AsyncClient, org: Org, **params: str) -> httpx.Response:
    return await client.get("/v1/audit-events", params=params, headers=org.headers)


async def test_who_read_this_lead_with_key_time_and_ip(client: httpx.AsyncClient, org: Org) -> None:
    lead_id = await new_lead(client, org, 8601)
    other = await new_lead(client, org, 8602)
    reader = await key_with(client, org, "leads:read")
    start = dt.datetime.now(dt.UTC)
    for who in (org, reader):
        assert (await client.get(f"/v1/leads/{lead_id}", headers=who.headers)).status_code == 200
    await client.get(f"/v1/leads/{other}", headers=org.headers)
    await client.get("/v1/leads", headers=reader.headers)
    await client.get(f"/v1/leads/{lead_id}/consent", headers=reader.headers)

    r = await _events(client, org, target_id=lead_id)
    assert r.status_code == 200, r.text
    events = r.json()["data"]
    reads = [e for e in events if e["action"] == "lead.read"]
    assert len(reads) == 2
    assert {e["actor_key_name"] for e in reads} == {"admin", "dialer"}
    for e in reads:
        assert e["client_ip"] == "127.0.0.1" and e["outcome"] == "allowed"
        assert dt.datetime.fromisoformat(e["at"]) >= start - dt.timedelta(seconds=5)
        assert e["route"] == "GET /v1/leads/{lead_id}" and e["target_id"] == lead_id
    actions = {e["action"] for e in events}
    assert {"lead.create", "lead.list", "consent.read"} <= actions
    assert all(e["target_id"] != other for e in events)  # only what concerns this lead
    newest_first = [e["at"] for e in events]
    assert newest_first == sorted(newest_first, reverse=True)

    mine = await _events(client, org, target_id=lead_id, actor_key_id=reads[0]["actor_key_id"])
    assert {e["actor_key_id"] for e in mine.json()["data"]} == {reads[0]["actor_key_id"]}
    only_reads = (await _events(client, org, target_id=lead_id, action="lead.read")).json()
    assert [e["id"] for e in only_reads["data"]] == [e["id"] for e in reads]
    later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)
    empty = await _events(client, org, target_id=lead_id, **{"from": later.isoformat()})
    assert empty.json()["data"] == []

    log = await client.get(f"/v1/leads/{lead_id}/access-log", headers=org.headers)
    assert log.status_code == 200
    assert {e["id"] for e in log.json()["data"]} >= {e["id"] for e in events}


async def test_pages_csv_and_who_may_read_the_trail(
    client: httpx.AsyncClient, org: Org, other_org: Org
) -> None:
    lead_id = await new_lead(client, org, 8603)
    for _ in range(3):
        await client.get(f"/v1/leads/{lead_id}", headers=org.headers)
    seen: list[int] = []
    cursor = None
    while True:
        params = {"target_id": lead_id, "action": "lead.read", "limit": "2"}
        if cursor:
            params["cursor"] = cursor
        page = (await _events(client, org, **params)).json()
        seen += [e["id"] for e in page["data"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == 3

    r = await client.get(
        "/v1/audit-events",
        params={"target_id": lead_id},
        headers={**org.headers, "Accept": "text/csv"},
    )
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert {"at", "action", "actor_key_id", "client_ip", "outcome"} <= set(rows[0])
    assert sum(row["action"] == "lead.read" for row in rows) == 3

    reader = await key_with(client, org, "leads:read")
    assert (await _events(client, reader)).status_code == 403
    stranger = await client.get(f"/v1/leads/{lead_id}/access-log", headers=other_org.headers)
    assert stranger.status_code == 404
    # another organisation sees its own probe of the id, and nothing of this organisation's
    probes = (await _events(client, other_org, target_id=lead_id)).json()["data"]
    assert [(e["action"], e["outcome"]) for e in probes] == [("audit.access_log", "not_found")]
    audited = (await _events(client, org, action="audit.list")).json()["data"]
    assert audited, "reading the trail is audited too"
    assert (await _events(client, org, cursor="not-a-cursor")).status_code == 422
