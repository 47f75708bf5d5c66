"""Every list answers `{"data": [...], "next_cursor": ...}`, paged or not."""

from __future__ import annotations

from typing import Any

import httpx

from app.main import create_app
from tests.conftest import Org, make_settings
from tests.intake.helpers import person

# Query parameters a list needs.
QUERY: dict[str, dict[str, str]] = {"/v1/spend": {"from": "2026-01-01", "to": "2026-01-31"}}


def _lists() -> dict[str, str]:
    """Each GET whose answer is a list: its path and its schema's name."""
    spec = create_app(make_settings()).openapi()
    found = {}
    for path, ops in spec["paths"].items():
        content = ops.get("get", {}).get("responses", {}).get("200", {}).get("content", {})
        ref = content.get("application/json", {}).get("schema", {}).get("$ref", "")
        name = ref.rsplit("/", 1)[-1]
        props = spec["components"]["schemas"].get(name, {}).get("properties", {})
        if name.endswith("List") or any(p.get("type") == "array" for p in props.values()):
            found[path] = name
    return found


def test_every_list_schema_is_data_and_next_cursor() -> None:
    spec = create_app(make_settings()).openapi()
    schemas = spec["components"]["schemas"]
    lists = _lists()
    # Not lists: reports (rows, subtotals, a total), one lead's documents, settings.
    assert {n for n in lists.values() if not n.endswith("List")} == {
        "AvailabilityReport", "CalibrationReport", "ConsentView", "CostReport", "DropoffReport",
        "EligibilityOut", "FunnelReport", "LeadOut", "LocationOut", "MemberOut", "Packet",
        "RulesetOut", "ScoringSettingsOut", "ServiceOut", "SpeedReport", "SubscriptionOut",
        "TeamOut", "Timeline",
    }  # fmt: skip
    for name in {n for n in lists.values() if n.endswith("List")}:
        schema = schemas[name]
        assert {"data", "next_cursor"} <= set(schema["properties"]), name
        assert {"data", "next_cursor"} <= set(schema.get("required", [])), name


async def _seed(client: httpx.AsyncClient, org: Org) -> dict[str, str]:
    async def post(path: str, body: Any) -> dict[str, Any]:
        r = await client.post(path, json=body, headers=org.headers)
        assert r.status_code in (200, 201), (path, r.text)
        return dict(r.json())

    team = await post("/v1/teams", {"name": "Desk"})
    await post(f"/v1/teams/{team['id']}/members", {"display_name": "Ann"})
    lead = await post("/v1/leads", person(8901))
    return {"team_id": team["id"], "lead_id": lead["lead_id"]}


async def test_every_list_answers_data_and_next_cursor(client: httpx.AsyncClient, org: Org) -> None:
    ids = await _seed(client, org)
    for path in _lists():
        if "List" not in _lists()[path]:
            continue
        r = await client.get(path.format(**ids), params=QUERY.get(path), headers=org.headers)
        assert r.status_code == 200, (path, r.text)
        body = r.json()
        assert isinstance(body["data"], list) and "next_cursor" in body, (path, body)
