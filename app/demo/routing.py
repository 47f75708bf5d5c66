"""The demo's intake teams, people and published rule set.

A front desk per practice location, a sleep-medicine coordinator, an urgent nurse line and
a nurture queue, with rules that exercise every routing feature: conditions on service,
location, urgency, qualification, score and language, `team_open`, strategy overrides,
overflow, away members, language skills, capacities and daily caps.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog.models import Location
from app.db import utcnow
from app.routing import rulesets, teams
from app.routing.schemas import MemberCreate, RulesetCreate, TeamCreate, TeamPatch
from app.tenancy import scoped

ZONE = "America/Chicago"
WEEKDAYS = {d: [["08:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
HOLIDAYS = ["2026-11-26", "2026-12-25", "2027-01-01"]
SLA = {"emergency": 5, "urgent": 15, "soon": 60, "routine": 240}


async def _team(session: AsyncSession, org_id: uuid.UUID, **fields: Any) -> str:
    body = TeamCreate.model_validate({"time_zone": ZONE, "holidays": HOLIDAYS, **fields})
    return str((await teams.create_team(session, org_id, body)).id)


async def _members(
    session: AsyncSession, org_id: uuid.UUID, team_id: str, people: list[dict[str, Any]]
) -> None:
    for person in people:
        body = MemberCreate.model_validate(person)
        await teams.create_member(session, org_id, uuid.UUID(team_id), body)


async def _desks(session: AsyncSession, org_id: uuid.UUID) -> list[tuple[str, str | None]]:
    """(team id, location id) per front desk; one unattached desk without locations."""
    found = (
        await session.execute(scoped(Location, org_id).order_by(Location.created_at))
    ).scalars()
    locations: list[Location | None] = [*found] or [None]
    desks: list[tuple[str, str | None]] = []
    for loc in locations:
        name = f"Front desk — {loc.name}" if loc is not None else "Front desk"
        desk = await _team(
            session, org_id, name=name, kind="front_desk",
            services=["orthopedics", "sleep-medicine"],
            location_ids=[str(loc.id)] if loc is not None else [],
            languages=["en"], hours={**WEEKDAYS, "sat": [["08:00", "12:00"]]},
            sla_minutes=SLA, capacity_per_member=30, strategy="round_robin",
        )  # fmt: skip
        desks.append((desk, str(loc.id) if loc is not None else None))
    # Each desk overflows to the next, so a busy desk hands leads to its sibling.
    for (desk, _), (nxt, _) in zip(desks, desks[1:] + desks[:1], strict=True):
        if nxt != desk:
            patch = TeamPatch(overflow_team_id=uuid.UUID(nxt))
            await teams.update_team(session, org_id, uuid.UUID(desk), patch)
    return desks


def _rules(desks: list[tuple[str, str | None]], sleep: str, nurse: str, nurture: str) -> list[Any]:
    main_desk = desks[0][0]
    rules: list[dict[str, Any]] = [
        {"id": "urgent", "name": "Urgent requests to the nurse line",
         "conditions": [{"field": "urgency", "op": "eq", "value": "urgent"}],
         "team_id": nurse, "strategy": "least_loaded"},
        {"id": "not-qualified", "name": "Not qualified: nurture",
         "conditions": [{"field": "qualified", "op": "is_false"}], "team_id": nurture},
        {"id": "low-score", "name": "Low scores: nurture",
         "conditions": [{"field": "score", "op": "lt", "value": 20}], "team_id": nurture},
        {"id": "sleep", "name": "Sleep medicine coordinator",
         "conditions": [{"field": "service", "op": "eq", "value": "sleep-medicine"}],
         "team_id": sleep},
        {"id": "spanish-open", "name": "Spanish speakers while the main desk is open",
         "conditions": [{"field": "language", "op": "prefix", "value": "es"},
                        {"field": "team_open", "op": "is_true"}],
         "team_id": main_desk, "strategy": "least_loaded"},
    ]  # fmt: skip
    for i, (desk, location) in enumerate(desks):
        if location is not None:
            rules.append(
                {"id": f"ortho-location-{i + 1}", "name": f"Orthopedics at location {i + 1}",
                 "conditions": [{"field": "service", "op": "eq", "value": "orthopedics"},
                                {"field": "location_id", "op": "eq", "value": location}],
                 "team_id": desk}
            )  # fmt: skip
    rules.append({"id": "default", "name": "Everyone else", "team_id": main_desk})
    return rules


async def seed(session: AsyncSession, org_id: uuid.UUID) -> None:
    desks = await _desks(session, org_id)
    back = (utcnow() + dt.timedelta(days=2)).isoformat()
    staff: list[list[dict[str, Any]]] = [
        [{"display_name": "Ana Ruiz", "external_id": "five9-1001", "languages": ["en", "es"]},
         {"display_name": "Ben Carter", "external_id": "five9-1002"},
         {"display_name": "Cleo Park", "external_id": "five9-1003", "status": "away",
          "away_until": back}],
        [{"display_name": "Dev Patel", "external_id": "five9-1004"},
         {"display_name": "Eli Moreno", "external_id": "five9-1005", "languages": ["en", "es"]}],
    ]  # fmt: skip
    for i, (desk, _) in enumerate(desks):
        extra: list[dict[str, Any]] = [
            {"display_name": f"Desk {i + 1} agent", "external_id": f"five9-19{i:02d}"}
        ]
        await _members(session, org_id, desk, staff[i] if i < len(staff) else extra)
    sleep = await _team(session, org_id, name="Sleep-medicine coordinator", kind="coordinator",
                        services=["sleep-medicine"], hours=WEEKDAYS, sla_minutes=SLA,
                        strategy="weighted", overflow_team_id=desks[0][0])  # fmt: skip
    await _members(session, org_id, sleep, [
        {"display_name": "Sam Okafor", "external_id": "five9-2001", "weight": 2},
        {"display_name": "Sofia Lind", "external_id": "five9-2002", "languages": ["en", "es"]},
    ])  # fmt: skip
    nurse = await _team(session, org_id, name="Urgent nurse line", kind="nurse_line",
                        languages=["en", "es"], sla_minutes={"emergency": 5, "urgent": 15,
                        "default": 30}, strategy="least_loaded", is_urgent_team=True)  # fmt: skip
    await _members(session, org_id, nurse, [
        {"display_name": "Nora Quinn RN", "external_id": "five9-3001"},
        {"display_name": "Nate Brooks RN", "external_id": "five9-3002"},
    ])  # fmt: skip
    nurture = await _team(session, org_id, name="Nurture queue", kind="nurture",
                          hours={d: [["09:00", "17:00"]] for d in WEEKDAYS},
                          sla_minutes={"default": 1440})  # fmt: skip
    await _members(session, org_id, nurture, [
        {"display_name": "Quinn Adams", "external_id": "five9-4001", "daily_cap": 50},
    ])  # fmt: skip
    body = RulesetCreate(name="Demo routing", rules=_rules(desks, sleep, nurse, nurture))
    draft = await rulesets.create(session, org_id, body)
    await rulesets.publish(session, org_id, draft.id)
