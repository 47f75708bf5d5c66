"""The emergency path end to end: a chest-pain lead at 07:00 in Chicago reaches the 24/7
nurse line, the nurse's call is allowed and recorded, and the webhooks say it is one."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from tests.conftest import Org
from tests.handoff.conftest import Receiver, drain, subscribe, wait_for
from tests.intake.helpers import person, post_lead
from tests.routing.http_helpers import add_member, default_rule, make_team, publish_rules

# Tuesday 18 March 2025, 07:00 in Chicago (CDT, UTC-5): before the 8 a.m. calling hours.
SEVEN_AM = dt.datetime(2025, 3, 18, 12, 0, tzinfo=dt.UTC)


def _iso(at: dt.datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


async def _received_at_seven(engine: AsyncEngine, lead_id: str) -> None:
    async with AsyncSession(engine) as s, s.begin():
        await s.execute(
            text("UPDATE leads SET received_at = :at WHERE id = :id"),
            {"at": SEVEN_AM, "id": uuid.UUID(lead_id)},
        )


async def _call(client: httpx.AsyncClient, org: Org, lead_id: str, **body: Any) -> httpx.Response:
    attempt = {"channel": "voice", "outcome": "connected", "member_external_id": "nurse-1",
               "started_at": _iso(SEVEN_AM + dt.timedelta(minutes=2)), **body}  # fmt: skip
    return await client.post(
        f"/v1/leads/{lead_id}/contact-attempts", json=attempt, headers=org.headers
    )


async def test_chest_pain_at_seven_am_is_called_back_by_the_nurse_line(
    client: httpx.AsyncClient,
    org: Org,
    engine: AsyncEngine,
    receiver: Receiver,
    fast_retries: Any,
) -> None:
    front = await make_team(client, org, "Front desk", hours={"mon": [["08:00", "17:00"]]})
    nurses = await make_team(
        client, org, "Nurse line", is_urgent_team=True, sla_minutes={"emergency": 5}
    )  # no hours: 24/7
    await add_member(client, org, nurses["id"], "Nurse Kim", external_id="nurse-1")
    await publish_rules(client, org, [default_rule(front["id"])])
    await subscribe(client, org, receiver.url, ["lead.received", "lead.routed"])

    body = {**person(9101), "reason": "crushing chest pain going down my left arm",
            "language": "en", "postal_code": "60611", "phone": "+1 312-555-9101"}  # fmt: skip
    r = await post_lead(client, org, body)
    assert r.status_code == 201, r.text
    answer = r.json()
    assert (answer["emergency"], answer["urgency"]) == (True, "emergency")
    assert "911" in answer["safety_instruction"]
    lead_id = answer["lead_id"]
    await _received_at_seven(engine, lead_id)

    # A booking call at 07:02 is held to the 8 a.m. calling hours: refused.
    booking = await _call(client, org, lead_id, purpose="scheduling")
    assert booking.status_code == 422 and booking.json()["type"].endswith("calling-hours")
    # The nurse's callback is not: allowed, recorded, and it meets the SLA.
    r = await _call(client, org, lead_id)
    assert r.status_code == 201, r.text
    recorded = r.json()
    assert (recorded["purpose"], recorded["policy_rule"]) == ("emergency-callback", None)
    lead = (await client.get(f"/v1/leads/{lead_id}", headers=org.headers)).json()
    assert lead["routing"]["team_id"] == nurses["id"]
    assert lead["contact_summary"]["first_attempt_at"] is not None
    listed = await client.get(f"/v1/leads/{lead_id}/contact-attempts", headers=org.headers)
    assert [a["id"] for a in listed.json()["data"]] == [recorded["id"]]

    # The webhooks carry urgency and emergency, so a call-center system can page someone.
    await drain(engine, lambda: _delivered(receiver, 2))
    events = {e["type"]: e["data"] for e in (json.loads(h.body) for h in receiver.ok())}
    for kind in ("lead.received", "lead.routed"):
        assert (events[kind]["emergency"], events[kind]["urgency"]) == (True, "emergency")
    assert events["lead.routed"]["team_id"] == nurses["id"]


async def _delivered(receiver: Receiver, count: int) -> bool:
    return await wait_for(lambda: len(receiver.ok()) >= count, 0.05)


async def test_an_ordinary_lead_is_still_held_to_calling_hours(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    body = {**person(9102), "reason": "knee pain when I run", "language": "en",
            "postal_code": "60611", "phone": "+1 312-555-9102"}  # fmt: skip
    r = await post_lead(client, org, body)
    assert r.status_code == 201 and r.json()["emergency"] is False
    lead_id = r.json()["lead_id"]
    await session.execute(
        text("UPDATE leads SET received_at = :at WHERE id = :id"),
        {"at": SEVEN_AM, "id": uuid.UUID(lead_id)},
    )
    await session.commit()
    early = await _call(client, org, lead_id)
    assert early.status_code == 422 and early.json()["type"].endswith("calling-hours")
    claimed = await _call(client, org, lead_id, purpose="emergency-callback")
    assert claimed.status_code == 422 and claimed.json()["type"].endswith("not-an-emergency")
