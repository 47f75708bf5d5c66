"""Input that once reached a 500: each cause answered as a problem through HTTP."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.appointments.test_api import appointment, new_lead, post_fhir
from tests.conftest import Org
from tests.intake.helpers import create_source, person, post_lead
from tests.routing.http_helpers import add_member, default_rule, make_team, publish_rules

YEAR_ONE = "0001-01-01T00:00:00Z"
NUL = "a\u0000b"
SURROGATE = "a\ud800b"
SECRET = "whsec_" + base64.b64encode(b"k" * 32).decode()


def problem(r: httpx.Response, status: int) -> dict[str, Any]:
    assert r.status_code == status, (r.status_code, r.text)
    assert r.headers["content-type"].startswith("application/problem+json")
    return dict(r.json())


def fields(body: dict[str, Any]) -> set[str]:
    return {e["field"].lstrip("/").replace("/", ".") for e in body.get("errors", [])}


def raw_json(value: str) -> bytes:
    """JSON text with the string escaped as JSON does (a lone surrogate stays `\\ud800`)."""
    return json.dumps(value).encode()


async def send(
    client: httpx.AsyncClient, org: Org, method: str, url: str, body: bytes, ctype: str = ""
) -> httpx.Response:
    headers = {**org.headers, "content-type": ctype or "application/json"}
    return await client.request(method, url, content=body, headers=headers)


# --- times -------------------------------------------------------------------------------


async def test_year_one_away_until_is_refused_on_create_and_patch(
    client: httpx.AsyncClient, org: Org
) -> None:
    team = await make_team(client, org)
    r = await client.post(
        f"/v1/teams/{team['id']}/members",
        json={"display_name": "Ann", "status": "away", "away_until": YEAR_ONE},
        headers=org.headers,
    )
    assert fields(problem(r, 422)) == {"away_until"}
    member = await add_member(client, org, team["id"], "Ann")
    for bad in (YEAR_ONE, "2301-01-01T00:00:00Z", "2030-01-01T00:00:00"):
        r = await client.patch(
            f"/v1/members/{member['id']}",
            json={"status": "away", "away_until": bad},
            headers=org.headers,
        )
        assert fields(problem(r, 422)) == {"away_until"}, bad


async def test_a_stored_infinite_away_until_does_not_stop_routing(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    team = await make_team(client, org)
    away = await add_member(client, org, team["id"], "Away")
    await add_member(client, org, team["id"], "Here")
    await publish_rules(client, org, [default_rule(team["id"])])
    # As rows written before times were range-checked hold it.
    await session.execute(
        text("UPDATE members SET status = 'away', away_until = '-infinity' WHERE id = :id"),
        {"id": away["id"]},
    )
    await session.commit()
    for n in range(2):
        r = await post_lead(client, org, person(n))
        assert r.status_code == 201, r.text
    r = await client.post("/v1/routing/simulate", json={}, headers=org.headers)
    assert r.status_code < 500, r.text
    r = await client.get(f"/v1/teams/{team['id']}", headers=org.headers)
    assert r.status_code == 200


async def test_api_key_expiry_is_range_checked_and_a_stored_infinite_one_is_expired(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    r = await client.post(
        "/v1/api-keys",
        json={"name": "k", "scopes": ["leads:read"], "expires_at": YEAR_ONE},
        headers=org.headers,
    )
    assert fields(problem(r, 422)) == {"expires_at"}
    r = await client.post(
        "/v1/api-keys", json={"name": "k", "scopes": ["leads:read"]}, headers=org.headers
    )
    assert r.status_code == 201, r.text
    made = r.json()
    await session.execute(
        text("UPDATE api_keys SET expires_at = '-infinity' WHERE id = :id"), {"id": made["id"]}
    )
    await session.commit()
    r = await client.get("/v1/leads", headers={"Authorization": f"Bearer {made['key']}"})
    problem(r, 401)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"submitted_at": YEAR_ONE}, "submitted_at"),
        ({"consent": {"checked": True, "captured_at": YEAR_ONE}}, "consent.captured_at"),
        ({"consent": {"checked": True, "captured_at": "1899-12-31T23:59:59Z"}},
         "consent.captured_at"),
    ],
)  # fmt: skip
async def test_a_lead_s_instants_out_of_range_are_422(
    client: httpx.AsyncClient, org: Org, changes: dict[str, Any], field: str
) -> None:
    """The stated consent time becomes the consent event's: year 1 would be -infinity."""
    r = await post_lead(client, org, {**person(8611), **changes})
    assert fields(problem(r, 422)) == {field}


@pytest.mark.parametrize(
    "query",
    [
        "at=0001-01-01T00:00:00Z",
        "at=9999-12-31T23:59:59Z",
        "at=2025-01-01T10:00:00",
    ],
)
async def test_contact_eligibility_at_out_of_range_is_422(
    client: httpx.AsyncClient, org: Org, query: str
) -> None:
    lead_id = await new_lead(client, org)
    r = await client.get(
        f"/v1/leads/{lead_id}/contact-eligibility?channel=voice&{query}", headers=org.headers
    )
    assert fields(problem(r, 422)) == {"query.at"}


async def test_report_days_and_lead_filters_out_of_range_are_422(
    client: httpx.AsyncClient, org: Org
) -> None:
    r = await client.get("/v1/reports/funnel?from=0001-01-01&to=0001-01-02", headers=org.headers)
    problem(r, 422)
    r = await client.get("/v1/leads?received_from=0001-01-01T00:00:00Z", headers=org.headers)
    problem(r, 422)


# --- depth -------------------------------------------------------------------------------


@pytest.mark.parametrize("ctype", ["application/json", "application/fhir+json"])
async def test_deep_json_is_400_before_parsing(
    client: httpx.AsyncClient, org: Org, ctype: str
) -> None:
    deep = b"[" * 10_000 + b"]" * 10_000
    lead_id = await new_lead(client, org)
    source = await create_source(client, org, "web_form", {"secrets": [SECRET]})
    for method, url in [
        ("POST", "/v1/leads"),
        ("POST", f"/v1/leads/{lead_id}/appointments"),
        ("PUT", f"/v1/fhir/Appointment/{lead_id}"),
        ("PATCH", "/v1/teams/" + lead_id),
        ("POST", f"/v1/webhooks/{source['id']}"),
    ]:
        r = await send(client, org, method, url, b'{"a":' + deep + b"}", ctype)
        body = problem(r, 400)
        assert body["type"].endswith("/json-too-deep"), (url, body)
    # Depth inside strings does not count.
    r = await post_lead(client, org, person(7, reason="[" * 200))
    assert r.status_code == 201, r.text


# --- strings PostgreSQL cannot store ---------------------------------------------------


@pytest.mark.parametrize("bad", [NUL, SURROGATE])
async def test_unstorable_strings_are_422_naming_the_field(
    client: httpx.AsyncClient, org: Org, bad: str
) -> None:
    team = await make_team(client, org)
    member = await add_member(client, org, team["id"], "Ann")
    lead_id = await new_lead(client, org)
    r = await client.post(
        "/v1/services", json={"code": "knee", "name": "Knee"}, headers=org.headers
    )
    service_id = r.json()["id"]
    cases: list[tuple[str, str, str, str, str]] = [
        ("POST", "/v1/services", '{"code": "x", "name": %s}', "", "name"),
        ("PATCH", f"/v1/services/{service_id}", '{"name": %s}', "", "name"),
        ("PATCH", f"/v1/services/{service_id}", '{"synonyms": ["ok", %s]}', "", "synonyms.1"),
        ("POST", "/v1/teams", '{"name": %s}', "", "name"),
        ("PATCH", f"/v1/members/{member['id']}", '{"display_name": %s}', "", "display_name"),
        ("POST", "/v1/sources", '{"kind": "partner", "name": %s}', "", "name"),
        (
            "POST",
            "/v1/sources",
            '{"kind":"partner","name":"s","mapping":{"a":%s}}',
            "",
            "mapping.a",
        ),
        ("POST", "/v1/locations", '{"name": %s, "postal_code": "60647"}', "", "name"),
        ("POST", "/v1/api-keys", '{"name": %s, "scopes": ["admin"]}', "", "name"),
        (
            "POST",
            "/v1/leads",
            '{"first_name": "A", "phone": "+13125550100", "external_id": %s}',
            "",
            "external_id",
        ),
        (
            "POST",
            "/v1/leads",
            '{"phone": "+13125550100", "attribution": {"utm_source": %s}}',
            "",
            "attribution.utm_source",
        ),
        (
            "POST",
            f"/v1/leads/{lead_id}/reassign",
            '{"team_id": "' + team["id"] + '", "reason": %s}',
            "",
            "reason",
        ),
        (
            "POST",
            f"/v1/leads/{lead_id}/appointments",
            '{"status": "booked", "provider": %s}',
            "",
            "provider",
        ),
        (
            "POST",
            "/v1/spend",
            '[{"date": "2025-01-01", "source": "s", "amount": 1, "currency": "USD", '
            '"campaign": %s}]',
            "",
            "0.campaign",
        ),
    ]
    for method, url, template, ctype, field in cases:
        r = await send(
            client, org, method, url, template.replace("%s", raw_json(bad).decode()).encode(), ctype
        )
        assert fields(problem(r, 422)) == {field}, (url, r.text)
    r = await client.get("/v1/leads?status=%00", headers=org.headers)
    assert fields(problem(r, 422)) == {"status"}
    r = await client.get("/v1/inbox?status=%ED%A0%80", headers=org.headers)
    assert fields(problem(r, 422)) == {"status"}


# --- PATCH as strict as POST ----------------------------------------------------------------


async def test_patch_refuses_null_where_a_value_is_required(
    client: httpx.AsyncClient, org: Org
) -> None:
    team = await make_team(client, org)
    member = await add_member(client, org, team["id"], "Ann")
    source = await create_source(client, org, "web_form", {"secrets": [SECRET]})
    r = await client.post(
        "/v1/services", json={"code": "knee", "name": "Knee"}, headers=org.headers
    )
    service_id = r.json()["id"]
    for url, field in [
        (f"/v1/members/{member['id']}", "status"),
        (f"/v1/members/{member['id']}", "team_id"),
        (f"/v1/sources/{source['id']}", "settings"),
        (f"/v1/sources/{source['id']}", "name"),
        (f"/v1/teams/{team['id']}", "holidays"),
        (f"/v1/teams/{team['id']}", "time_zone"),
        (f"/v1/services/{service_id}", "name"),
    ]:
        r = await client.patch(url, json={field: None}, headers=org.headers)
        assert fields(problem(r, 422)) == {field}, (url, r.text)
    # Where null is documented as a reset, it resets.
    r = await client.patch(
        f"/v1/teams/{team['id']}",
        json={"hours": None, "capacity_per_member": None},
        headers=org.headers,
    )
    assert r.status_code == 200 and r.json()["hours"] is None, r.text


async def test_patch_checks_references_uniqueness_and_ranges_as_post_does(
    client: httpx.AsyncClient, org: Org
) -> None:
    team = await make_team(client, org)
    ann = await add_member(client, org, team["id"], "Ann", external_id="agent-1")
    bob = await add_member(client, org, team["id"], "Bob")
    unknown = "00000000-0000-4000-8000-000000000000"
    r = await client.patch(
        f"/v1/teams/{team['id']}", json={"overflow_team_id": unknown}, headers=org.headers
    )
    assert fields(problem(r, 422)) == {"overflow_team_id"}
    r = await client.patch(
        f"/v1/members/{bob['id']}", json={"external_id": "agent-1"}, headers=org.headers
    )
    problem(r, 409)
    assert ann["external_id"] == "agent-1"
    for url, body in [
        (f"/v1/teams/{team['id']}", {"capacity_per_member": 2**31}),
        (f"/v1/members/{bob['id']}", {"daily_cap": 2**40}),
        ("/v1/teams", {"name": "Big", "capacity_per_member": 2**31}),
        (f"/v1/teams/{team['id']}", {"sla_minutes": {"routine": 2**31}}),
    ]:
        method = "POST" if url == "/v1/teams" else "PATCH"
        r = await client.request(method, url, json=body, headers=org.headers)
        assert r.status_code == 422, (url, r.text)
    lead_id = await new_lead(client, org)
    long_tag = "en-" + "-".join(["abcdefgh"] * 6)
    r = await client.patch(
        f"/v1/leads/{lead_id}/facts", json={"language": long_tag}, headers=org.headers
    )
    assert fields(problem(r, 422)) == {"language"}
    r = await post_lead(client, org, person(5, language=long_tag))
    problem(r, 422)


async def test_appointment_patch_refuses_null_status(client: httpx.AsyncClient, org: Org) -> None:
    lead_id = await new_lead(client, org)
    r = await post_fhir(client, org, lead_id, appointment("A-1", "booked", "1"))
    assert r.status_code == 201, r.text
    r = await client.patch(
        f"/v1/appointments/{r.json()['id']}", json={"status": None}, headers=org.headers
    )
    assert fields(problem(r, 422)) == {"status"}
