"""Every request that reads, changes or tries to reach personal data leaves one audit row
with its outcome (45 CFR 164.312(b)), refusals and other organisations' ids included."""

from __future__ import annotations

import io
import json
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import archive
from app.main import create_app
from tests.conftest import Org, make_settings
from tests.consent.helpers import new_lead
from tests.outreach.helpers import NIGHT, at, attempt, backdate, key_with, problem_type
from tests.routing.http_helpers import make_team

# Every route that takes a lead id, with a request that works on the caller's own lead.
# (method, path, query, body, status for the owner)
LEAD_ROUTES: list[tuple[str, str, dict[str, str], Any, int]] = [
    ("GET", "/v1/leads/{lead_id}", {}, None, 200),
    ("GET", "/v1/leads/{lead_id}/consent", {}, None, 200),
    ("GET", "/v1/leads/{lead_id}/contact-eligibility", {"channel": "voice"}, None, 200),
    ("GET", "/v1/leads/{lead_id}/access-log", {}, None, 200),
    ("PATCH", "/v1/leads/{lead_id}/facts", {}, {"urgency": "soon"}, 200),
    ("POST", "/v1/leads/{lead_id}/reassign", {}, {"team_id": "{team}", "reason": "x"}, 200),
    ("GET", "/v1/leads/{lead_id}/timeline", {}, None, 200),
    ("GET", "/v1/handoffs/{lead_id}", {}, None, 200),
    ("POST", "/v1/leads/{lead_id}/contact-attempts", {}, attempt("no_answer", at(16)), 201),
    ("GET", "/v1/leads/{lead_id}/contact-attempts", {}, None, 200),
    ("POST", "/v1/leads/{lead_id}/appointments", {}, {"status": "proposed"}, 201),
    ("GET", "/v1/leads/{lead_id}/appointments", {}, None, 200),
    ("POST", "/v1/leads/{lead_id}/slot-holds", {}, {"slot_id": "none"}, 404),
    ("DELETE", "/v1/leads/{lead_id}", {}, None, 200),
]


async def _rows(session: AsyncSession, request_id: str) -> list[Any]:
    result = await session.execute(
        text(
            "SELECT organization_id, actor_key_id, action, target_type, target_id, outcome,"
            " status_code, problem_type, route, client_ip, details FROM audit_events"
            " WHERE request_id = :r ORDER BY id"
        ),
        {"r": request_id},
    )
    return list(result.all())


async def _call(
    client: httpx.AsyncClient,
    org: Org,
    method: str,
    path: str,
    query: dict[str, str],
    body: Any,
) -> tuple[httpx.Response, str]:
    request_id = uuid.uuid4().hex
    headers = {**org.headers, "X-Request-ID": request_id}
    r = await client.request(method, path, params=query, json=body, headers=headers)
    return r, request_id


def _fill(body: Any, team: str) -> Any:
    if isinstance(body, dict):
        return {k: (team if v == "{team}" else v) for k, v in body.items()}
    return body


async def test_the_table_names_every_route_that_takes_a_lead_id() -> None:
    spec = create_app(make_settings()).openapi()
    routes = {
        (method.upper(), path)
        for path, ops in spec["paths"].items()
        if "{lead_id}" in path
        for method in ops
    }
    assert routes == {(m, p) for m, p, *_ in LEAD_ROUTES}


@pytest.mark.parametrize(("method", "path", "query", "body", "status"), LEAD_ROUTES)
async def test_every_lead_route_audits_the_owner_and_a_stranger(
    client: httpx.AsyncClient,
    org: Org,
    other_org: Org,
    session: AsyncSession,
    method: str,
    path: str,
    query: dict[str, str],
    body: Any,
    status: int,
) -> None:
    """OWASP API1: the owner's request leaves a row about the lead; another
    organisation's (a 404, as if the lead did not exist) leaves one in its own trail."""
    lead_id = await new_lead(client, org, 8501)
    await backdate(session, lead_id)
    team = await make_team(client, org, name="Desk")
    url = path.replace("{lead_id}", lead_id)
    body = _fill(body, str(team["id"]))

    r, request_id = await _call(client, org, method, url, query, body)
    assert r.status_code == status, r.text
    rows = await _rows(session, request_id)
    assert rows, f"no audit row for {method} {path}"
    about = [row for row in rows if row.target_id == lead_id or lead_id in str(row.details)]
    assert about, rows
    row = about[-1]
    assert row.organization_id == org.id and row.route == f"{method} {path}"
    assert row.outcome == ("allowed" if status < 400 else "not_found")

    r, request_id = await _call(client, other_org, method, url, query, body)
    assert r.status_code in (404, 422), r.text
    [row] = await _rows(session, request_id)
    assert row.organization_id == other_org.id
    assert row.target_type == "lead" and row.target_id == lead_id
    assert row.outcome == "not_found" and row.status_code == 404
    assert row.problem_type == "not-found" and row.route == f"{method} {path}"


async def test_a_stranger_and_a_policy_refusal_leave_rows_with_their_outcome(
    client: httpx.AsyncClient, org: Org, other_org: Org, session: AsyncSession
) -> None:
    """The 404 of another organisation's lead, a 422 policy refusal, a 403 missing scope:
    each is rolled back, and each leaves its row."""
    lead_id = await new_lead(client, org, 8502)
    await backdate(session, lead_id)
    r, probe = await _call(client, other_org, "GET", f"/v1/leads/{lead_id}", {}, None)
    assert r.status_code == 404
    [row] = await _rows(session, probe)
    assert (row.action, row.outcome, row.status_code) == ("lead.read", "not_found", 404)
    assert row.client_ip is not None

    url = f"/v1/leads/{lead_id}/contact-attempts"
    r, night = await _call(client, org, "POST", url, {}, attempt("no_answer", NIGHT))
    assert r.status_code == 422 and problem_type(r) == "calling-hours"
    [row] = await _rows(session, night)
    assert row.action == "contact_attempt.create" and row.target_id == lead_id
    assert (row.outcome, row.problem_type) == ("refused", "calling-hours")
    assert row.details["rules_version"] == r.json()["rules_version"]
    listed = await client.get(url, headers=org.headers)
    assert listed.json()["data"] == []  # the refusal recorded nothing else

    reader = await key_with(client, org, "reports:read")
    r, forbidden = await _call(client, reader, "GET", f"/v1/leads/{lead_id}", {}, None)
    assert r.status_code == 403
    [row] = await _rows(session, forbidden)
    assert (row.outcome, row.problem_type, row.target_id) == ("refused", "forbidden", lead_id)


async def test_last_used_at_is_written_when_a_request_fails(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    reader = await key_with(client, org, "reports:read")
    await session.execute(
        text("UPDATE api_keys SET last_used_at = NULL WHERE organization_id = :o"),
        {"o": org.id},
    )
    await session.commit()
    r = await client.get(f"/v1/leads/{uuid.uuid4()}", headers=reader.headers)
    assert r.status_code == 403
    used = await session.scalar(
        text(
            "SELECT count(*) FROM api_keys WHERE organization_id = :o"
            " AND last_used_at IS NOT NULL AND 'reports:read' = ANY(scopes)"
        ),
        {"o": org.id},
    )
    assert used == 1


async def test_list_reads_record_the_ids_they_returned(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    first = await new_lead(client, org, 8503)
    second = await new_lead(client, org, 8504)
    r, request_id = await _call(client, org, "GET", "/v1/leads", {}, None)
    assert r.status_code == 200
    [row] = await _rows(session, request_id)
    assert row.action == "lead.list" and set(row.details["ids"]) == {first, second}
    r, request_id = await _call(client, org, "GET", "/v1/handoffs", {"status": "all"}, None)
    assert r.status_code == 200
    [row] = await _rows(session, request_id)
    assert row.action == "handoff.list" and "ids" in row.details


async def test_audit_rows_are_kept_six_years(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    """Append-only, kept at least six years (45 CFR 164.316(b)(2)); older rows may be moved out."""
    await new_lead(client, org, 8505)
    refused = "DELETE FROM audit_events WHERE organization_id = :o"
    with pytest.raises(Exception, match="append-only"):
        async with session.begin_nested():
            await session.execute(text(refused), {"o": org.id})
    await session.execute(
        text(
            "INSERT INTO audit_events (organization_id, action, details, created_at)"
            " VALUES (:o, 'lead.read', '{}', now() - interval '6 years 1 day')"
        ),
        {"o": org.id},
    )
    gone = await session.execute(
        text(
            "DELETE FROM audit_events WHERE organization_id = :o"
            " AND created_at < now() - interval '6 years'"
        ),
        {"o": org.id},
    )
    assert gone.rowcount == 1


async def test_rows_older_than_six_years_are_moved_out_to_a_file(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    """Older than six years: `lead-router audit-archive` writes them out, then deletes them."""
    lead_id = await new_lead(client, org, 8506)
    await session.execute(
        text(
            "INSERT INTO audit_events (organization_id, action, target_type, target_id, details,"
            " created_at) VALUES (:o, 'lead.read', 'lead', :l, '{}',"
            " now() - interval '6 years 2 days')"
        ),
        {"o": org.id, "l": lead_id},
    )
    kept = await session.scalar(text("SELECT count(*) FROM audit_events"))
    out = io.StringIO()
    assert await archive.archive(session, out, dry_run=True) >= 1
    assert await session.scalar(text("SELECT count(*) FROM audit_events")) == kept
    out = io.StringIO()
    moved = await archive.archive(session, out)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(lines) == moved >= 1
    assert any(row["target_id"] == lead_id and row["action"] == "lead.read" for row in lines)
    assert await session.scalar(text("SELECT count(*) FROM audit_events")) == kept - moved
    young = await session.scalar(
        text("SELECT count(*) FROM audit_events WHERE organization_id = :o"), {"o": org.id}
    )
    assert young >= 1  # the lead's creation, six years younger, stays
