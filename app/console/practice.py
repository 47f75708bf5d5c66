"""The practice at a glance: services, locations, teams and members, the live rule set.

Read-only (changes stay in the API); a member's away/active status is changed from the queue.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.console import names, words
from app.console.auth import Person
from app.console.pages import PREFIX, render
from app.db import SessionDep
from app.practice import service as practice_service
from app.routing import rulesets, teams

router = APIRouter(prefix=PREFIX, include_in_schema=False)

DAYS = {"mon": "Mon", "tue": "Tue", "wed": "Wed", "thu": "Thu", "fri": "Fri", "sat": "Sat",
        "sun": "Sun"}  # fmt: skip


def hours_in_words(hours: dict[str, Any] | None) -> str:
    if not hours:
        return "always open"
    parts = []
    for key, label in DAYS.items():
        spans = hours.get(key)
        if spans:
            parts.append(f"{label} " + ", ".join(f"{a}\u2013{b}" for a, b in spans))
    return "; ".join(parts) or "closed every day"


def rule_in_words(rule: dict[str, Any], lookup: dict[str, dict[str, str]]) -> dict[str, str]:
    conditions = rule.get("conditions") or []
    when = " and ".join(words.condition(c, lookup) for c in conditions)
    team = lookup.get("team", {}).get(str(rule.get("team_id")), str(rule.get("team_id")))
    how = f", {str(rule['strategy']).replace('_', ' ')}" if rule.get("strategy") else ""
    return {
        "name": str(rule.get("name") or rule.get("id") or ""),
        "text": (f"When {when}: " if when else "Every other lead: ") + f"to {team}{how}.",
    }


def _rules(document: Any) -> list[dict[str, Any]]:
    # Stored as a list of rules or as `{"rules": [...]}` (both are accepted on write).
    rules = document.get("rules", []) if isinstance(document, dict) else document
    return [r for r in rules if isinstance(r, dict)]


@router.get("/practice")
async def practice_page(request: Request, person: Person, session: SessionDep) -> Response:
    org = person.caller.org_id
    lookup = await names.groups(session, org)
    live = next(
        (r for r in await rulesets.list_rulesets(session, org) if r.status == "published"), None
    )
    all_teams = await teams.list_teams(session, org)
    members = await teams.list_members(session, org, None)
    return render(
        request,
        "practice.html",
        {
            "services": await practice_service.list_services(session, org),
            "locations": [
                (loc, hours_in_words(loc.hours)) for loc in
                await practice_service.list_locations(session, org)
            ],
            "teams": [
                (t, hours_in_words(t.hours), [m for m in members if m.team_id == t.id])
                for t in all_teams
            ],
            "ruleset": live,
            "rules": [rule_in_words(r, lookup) for r in _rules(live.rules if live else [])],
            "names": lookup,
        },
        person=person,
    )  # fmt: skip
