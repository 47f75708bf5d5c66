"""Erasure requests from a person, over HTTP: found by keyed hash, erased, recorded."""

from __future__ import annotations

import datetime as dt
import re
import uuid

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app import worker
from tests.conftest import ClientWith, Org
from tests.privacy.helpers import Person


async def _age(target: AsyncSession | AsyncEngine, lead_id: str, days: int) -> None:
    """The lead as if it arrived `days` ago (outside the duplicate window)."""
    sql = text(
        "UPDATE leads SET received_at = now() - make_interval(days => :d),"
        " last_submitted_at = now() - make_interval(days => :d) WHERE id = :id"
    )
    params = {"d": days, "id": uuid.UUID(lead_id)}
    if isinstance(target, AsyncSession):
        await target.execute(sql, params)
        await target.commit()
    else:
        async with target.begin() as conn:
            await conn.execute(sql, params)


def _request(phone: str | None = None, email: str | None = None, days_ago: int = 2) -> dict:
    received = dt.datetime.now(dt.UTC) - dt.timedelta(days=days_ago)
    body = {
        "received_at": received.isoformat(),
        "verified_by": "front desk (J. Ortiz)",
        "verification_note": "called back on the number on file",
    }
    if phone:
        body["phone"] = phone
    if email:
        body["email"] = email
    return body


async def test_request_by_phone_erases_every_matching_lead(
    client: httpx.AsyncClient, org: Org, other_org: Org, session: AsyncSession
) -> None:
    who, bystander = Person.new(), Person.new()
    first = (await client.post("/v1/leads", json=who.lead(), headers=org.headers)).json()
    await _age(session, first["lead_id"], 60)
    # the same person months later, with another address: a new lead, same phone
    later = who.lead(email=f"new.{who.email}", external_id="later")
    second = (await client.post("/v1/leads", json=later, headers=org.headers)).json()
    assert second["lead_id"] != first["lead_id"] and second["resubmission"] is False
    other = (await client.post("/v1/leads", json=bystander.lead(), headers=org.headers)).json()
    theirs = (await client.post("/v1/leads", json=who.lead(), headers=other_org.headers)).json()

    body = _request(phone=f"{who.phone[2:5]}.{who.phone[5:8]}.{who.phone[8:]}")
    r = await client.post("/v1/erasure-requests", json=body, headers=org.headers)
    assert r.status_code == 201, r.text
    record = r.json()
    assert record["status"] == "completed" and record["leads_erased"] == 2
    assert record["received_at"] and record["verified_at"] and record["completed_at"]
    assert record["by_phone"] is True and record["by_email"] is False
    assert record["overdue"] is False
    assert who.phone[-7:] not in r.text and who.email not in r.text

    async def erased_at(org_: Org, lead_id: str) -> str | None:
        got = await client.get(f"/v1/leads/{lead_id}", headers=org_.headers)
        return got.json()["erased_at"]

    assert await erased_at(org, first["lead_id"]) and await erased_at(org, second["lead_id"])
    assert await erased_at(org, other["lead_id"]) is None
    assert await erased_at(other_org, theirs["lead_id"]) is None  # another organisation's

    listed = (await client.get("/v1/erasure-requests", headers=org.headers)).json()["data"]
    assert [x["id"] for x in listed] == [record["id"]]
    assert (await client.get("/v1/erasure-requests", headers=other_org.headers)).json() == {
        "data": [],
        "next_cursor": None,
    }
    # no personal data kept on the record
    row = (
        await session.execute(
            text("SELECT phone_hash, email_hash FROM erasure_requests WHERE id = :id"),
            {"id": uuid.UUID(record["id"])},
        )
    ).one()
    assert tuple(row) == (None, None)


async def test_request_input_errors(client: httpx.AsyncClient, org: Org) -> None:
    url = "/v1/erasure-requests"
    for body in (
        _request(),  # neither phone nor email
        _request(phone="not a number"),
        _request(email="nobody-at-example"),
        {**_request(phone="+13125550100"), "received_at": "2099-01-01T00:00:00Z"},
        # before the years any instant of the API takes (year 1 would be stored -infinity)
        {**_request(phone="+13125550100"), "received_at": "0001-01-01T00:00:00Z"},
        {**_request(phone="+13125550100"), "received_at": "1899-12-31T23:59:59Z"},
        {**_request(phone="+13125550100"), "name": "extra"},
    ):
        r = await client.post(url, json=body, headers=org.headers)
        assert r.status_code == 422, (body, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")


async def test_queued_request_is_overdue_until_the_worker_completes_it(
    client_with: ClientWith, org: Org, engine: AsyncEngine
) -> None:
    org, who = org, Person.new()
    async with client_with(erasure_inline_limit=0) as client:
        lead = (await client.post("/v1/leads", json=who.lead(), headers=org.headers)).json()
        # received 50 days ago (by post, say) and only now entered: already overdue
        body = _request(email=who.email.upper(), days_ago=50)
        r = await client.post("/v1/erasure-requests", json=body, headers=org.headers)
        assert r.status_code == 201, r.text
        record = r.json()
        assert record["status"] == "queued" and record["completed_at"] is None
        assert record["overdue"] is True
        overdue = await client.get("/v1/erasure-requests?status=overdue", headers=org.headers)
        assert [x["id"] for x in overdue.json()["data"]] == [record["id"]]
        before = _gauge((await client.get("/metrics")).text)
        assert before >= 1

        sessions = async_sessionmaker(engine, expire_on_commit=False)
        assert await worker.run_once(sessions, kinds=["privacy.erasure_request"]) >= 1

        done = await client.get(f"/v1/erasure-requests/{record['id']}", headers=org.headers)
        assert done.json()["status"] == "completed" and done.json()["leads_erased"] == 1
        assert done.json()["completed_at"] and done.json()["overdue"] is False
        got = (await client.get(f"/v1/leads/{lead['lead_id']}", headers=org.headers)).json()
        assert got["erased_at"] and got["contact"] == {}
        assert _gauge((await client.get("/metrics")).text) == before - 1


def _gauge(metrics: str) -> float:
    m = re.search(r"^lead_router_erasure_requests_overdue (\S+)$", metrics, re.M)
    assert m, metrics[:500]
    return float(m.group(1))
