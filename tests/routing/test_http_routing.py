from __future__ import annotations

import datetime as dt
import uuid
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from app.leads.models import Lead
from app.routing import service
from app.routing.rules import compile_ruleset
from tests.conftest import Org
from tests.intake.helpers import person, post_lead
from tests.routing.http_helpers import (
    add_member,
    default_rule,
    get_lead,
    make_team,
    publish_rules,
    team_with_members,
)

ALL_DAY = {d: [["00:00", "24:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
CHICAGO = ZoneInfo("America/Chicago")


def closed_for_days(zone: ZoneInfo) -> tuple[dict[str, object], dt.datetime]:
    """Open all week, but today and its neighbours are holidays: closed whenever the test
    runs, reopening at local midnight two days from now."""
    today = dt.datetime.now(zone).date()
    holidays = [(today + dt.timedelta(days=d)).isoformat() for d in (-1, 0, 1)]
    reopen = today + dt.timedelta(days=2)
    fields = {"hours": ALL_DAY, "time_zone": str(zone), "holidays": holidays}
    return fields, dt.datetime(reopen.year, reopen.month, reopen.day, tzinfo=zone)


async def test_away_member_gets_nothing_while_away(client: httpx.AsyncClient, org: Org) -> None:
    team, (ana, ben, cleo) = await team_with_members(client, org, ["Ana", "Ben", "Cleo"])
    await client.patch(
        f"/v1/members/{ben['id']}",
        json={"status": "away", "away_until": "2199-01-01T00:00:00Z"},
        headers=org.headers,
    )
    await publish_rules(client, org, [default_rule(team["id"])])
    got = [(await post_lead(client, org, person(i))).json() for i in range(6)]
    assert [g["member_id"] for g in got] == [ana["id"], cleo["id"]] * 3
    trace = (await get_lead(client, org, got[0]["lead_id"]))["routing"]["trace"]
    skipped = {c["member_id"]: c["skipped"] for c in trace["teams"][0]["candidates"]}
    assert skipped == {ana["id"]: None, ben["id"]: "away", cleo["id"]: None}
    await client.patch(f"/v1/members/{ben['id']}", json={"status": "active"}, headers=org.headers)
    back = [(await post_lead(client, org, person(10 + i))).json()["member_id"] for i in range(3)]
    assert sorted(back) == sorted([ana["id"], ben["id"], cleo["id"]])


async def test_members_lacking_the_language_are_skipped(
    client: httpx.AsyncClient, org: Org
) -> None:
    team = await make_team(client, org)
    await add_member(client, org, team["id"], "Ed", languages=["en"])
    sofia = await add_member(client, org, team["id"], "Sofia", languages=["en", "es"])
    await publish_rules(client, org, [default_rule(team["id"])])
    got = [(await post_lead(client, org, person(i, language="es-MX"))).json() for i in range(3)]
    assert {g["member_id"] for g in got} == {sofia["id"]}
    trace = (await get_lead(client, org, got[0]["lead_id"]))["routing"]["trace"]
    assert trace["teams"][0]["candidates"][0]["skipped"] == "language_mismatch"


async def test_closed_team_queues_the_lead_until_its_next_opening(
    client: httpx.AsyncClient, org: Org
) -> None:
    fields, reopen = closed_for_days(CHICAGO)
    team, _ = await team_with_members(client, org, ["Ana"], **fields)
    await publish_rules(client, org, [default_rule(team["id"])])
    answer = (await post_lead(client, org, person(1))).json()
    assert answer["routing_status"] == "queued"
    assert (answer["team_id"], answer["member_id"]) == (team["id"], None)
    assert dt.datetime.fromisoformat(answer["callback_at"]) == reopen
    lead = await get_lead(client, org, answer["lead_id"])
    assert lead["status"] == "routed"
    assert lead["routing"]["trace"]["teams"][0]["outcome"] == "closed"


async def test_closed_team_overflows_to_an_open_one(client: httpx.AsyncClient, org: Org) -> None:
    night, (nina,) = await team_with_members(client, org, ["Nina"], name="Nurse line")
    fields, _ = closed_for_days(CHICAGO)
    desk, _ = await team_with_members(
        client, org, ["Ana"], name="Desk", overflow_team_id=night["id"], **fields
    )
    await publish_rules(client, org, [default_rule(desk["id"])])
    answer = (await post_lead(client, org, person(1))).json()
    assert (answer["team_id"], answer["member_id"]) == (night["id"], nina["id"])
    trace = (await get_lead(client, org, answer["lead_id"]))["routing"]["trace"]
    assert trace["overflowed_from"] == [desk["id"]]


async def test_capacity_daily_cap_and_sla(client: httpx.AsyncClient, org: Org) -> None:
    team = await make_team(client, org, capacity_per_member=1, sla_minutes={"soon": 60})
    ana = await add_member(client, org, team["id"], "Ana")
    ben = await add_member(client, org, team["id"], "Ben", daily_cap=0)
    await publish_rules(client, org, [default_rule(team["id"])])
    first = (await post_lead(client, org, person(1))).json()
    second = (await post_lead(client, org, person(2))).json()
    assert first["member_id"] == ana["id"]
    assert second["routing_status"] == "queued"
    lead = await get_lead(client, org, second["lead_id"])
    candidates = lead["routing"]["trace"]["teams"][0]["candidates"]
    skipped = {c["member_id"]: c["skipped"] for c in candidates}
    assert skipped == {ana["id"]: "at_capacity", ben["id"]: "daily_cap_reached"}
    received = dt.datetime.fromisoformat(lead["received_at"])
    assert dt.datetime.fromisoformat(first["sla_due_at"]) - received < dt.timedelta(minutes=61)


async def test_a_resubmission_stays_with_its_member(client: httpx.AsyncClient, org: Org) -> None:
    team, (ana, ben) = await team_with_members(client, org, ["Ana", "Ben"])
    await publish_rules(client, org, [default_rule(team["id"])])
    first = await post_lead(client, org, person(1))
    again = await post_lead(client, org, {**person(1), "external_id": "p-1-again"})
    assert again.status_code == 200
    assert again.json()["resubmission"] is True
    assert again.json()["member_id"] == first.json()["member_id"] == ana["id"]
    # The resubmission did not consume a turn in the rotation.
    assert (await post_lead(client, org, person(2))).json()["member_id"] == ben["id"]


async def test_saturday_night_lead_is_called_back_monday_morning(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    weekdays = {d: [["08:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
    team, _ = await team_with_members(
        client, org, ["Ana"], hours=weekdays, time_zone="America/Chicago"
    )
    lead_id = (await post_lead(client, org, person(1))).json()["lead_id"]
    lead = await session.get(Lead, uuid.UUID(lead_id))
    assert lead is not None
    saturday_23 = dt.datetime(2026, 3, 7, 23, 0, tzinfo=CHICAGO)
    ruleset = compile_ruleset({"rules": [default_rule(team["id"])]}, 1)

    answer = await service.route_lead(
        session, lead, "api", saturday_23, apart=None, ruleset=ruleset
    )

    assert answer["routing_status"] == "queued"
    callback = dt.datetime.fromisoformat(answer["callback_at"])
    assert callback == dt.datetime(2026, 3, 9, 8, 0, tzinfo=CHICAGO)
    assert callback.astimezone(CHICAGO).strftime("%a %H:%M") == "Mon 08:00"


async def test_a_returning_person_goes_back_to_their_member(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    team, (ana, ben) = await team_with_members(client, org, ["Ana", "Ben"])
    await publish_rules(client, org, [default_rule(team["id"])])
    assert (await post_lead(client, org, person(1))).json()["member_id"] == ana["id"]
    earlier = (await post_lead(client, org, person(2))).json()
    assert earlier["member_id"] == ben["id"]
    # Outside the duplicate window, so the person's next submission is a new lead.
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=60)
    await session.execute(
        update(Lead).where(Lead.id == uuid.UUID(earlier["lead_id"])).values(received_at=long_ago)
    )
    await session.commit()

    again = (await post_lead(client, org, {**person(2), "external_id": "again"})).json()

    assert again["resubmission"] is False and again["lead_id"] != earlier["lead_id"]
    assert again["member_id"] == ben["id"]  # the rotation alone would have chosen Ana
    decision = (await get_lead(client, org, again["lead_id"]))["routing"]["trace"]
    assert decision["sticky"] is True
    assert (await post_lead(client, org, person(3))).json()["member_id"] == ana["id"]
