"""Locations, services and scoring settings through the HTTP API."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.models import AuditEvent
from tests.conftest import Org
from tests.practice.helpers import NAPERVILLE, ORTHO, STREETERVILLE, post, setup_practice


async def test_location_derives_geo_from_zip_and_round_trips(
    client: httpx.AsyncClient, org: Org
) -> None:
    await post(client, org, "/v1/services", ORTHO)
    body = {**STREETERVILLE, "services": ["orthopedics"]}
    loc = await post(client, org, "/v1/locations", body)
    assert loc["time_zone"] == "America/Chicago" and loc["state"] == "IL"
    assert loc["city"] == "Chicago" and loc["geo_overridden"] is False
    assert 41.8 < loc["latitude"] < 42.0 and -87.7 < loc["longitude"] < -87.5
    assert loc["hours"]["sat"] == [["08:00", "12:00"]] and "sun" not in loc["hours"]
    assert loc["holidays"] == ["2026-12-25"]
    assert loc["insurance_plans"] == STREETERVILLE["insurance_plans"]
    got = await client.get(f"/v1/locations/{loc['id']}", headers=org.headers)
    assert got.status_code == 200 and got.json() == loc
    listed = await client.get("/v1/locations", headers=org.headers)
    assert [x["id"] for x in listed.json()["data"]] == [loc["id"]]


async def test_location_patch_rederives_or_keeps_overrides(
    client: httpx.AsyncClient, org: Org
) -> None:
    loc = await post(client, org, "/v1/locations", {"name": "Loop", "postal_code": "60611"})
    assert loc["insurance_plans"] == "all" and loc["services"] == []
    r = await client.patch(
        f"/v1/locations/{loc['id']}",
        json={"postal_code": "60540", "hours": {"mon": [["09:00", "13:00"]]}},
        headers=org.headers,
    )
    assert r.status_code == 200, r.text
    moved = r.json()
    assert moved["city"] == "Naperville" and moved["latitude"] != loc["latitude"]
    assert moved["hours"] == {"mon": [["09:00", "13:00"]]}
    r = await client.patch(
        f"/v1/locations/{loc['id']}",
        json={"latitude": 41.5, "longitude": -88.0, "time_zone": "America/New_York"},
        headers=org.headers,
    )
    over = r.json()
    assert (over["latitude"], over["longitude"], over["time_zone"]) == (
        41.5,
        -88.0,
        "America/New_York",
    )
    assert over["geo_overridden"] is True and over["postal_code"] == "60540"


async def test_location_validation_problems(client: httpx.AsyncClient, org: Org) -> None:
    cases = [
        {"name": "X", "postal_code": "60611", "services": ["dermatology"]},
        {"name": "X", "postal_code": "60611", "hours": {"mon": [["17:00", "17:00"]]}},
        {"name": "X", "postal_code": "60611", "hours": {"funday": []}},
        {"name": "X", "postal_code": "60611", "latitude": 41.0},
        {"name": "X", "postal_code": "60611", "time_zone": "Mars/Olympus"},
        {"name": "X", "postal_code": "00000"},
        {"name": "X", "postal_code": "60611", "min_age": 60, "max_age": 18},
        {"name": "X", "postal_code": "60611", "surprise": True},
    ]
    for body in cases:
        r = await client.post("/v1/locations", json=body, headers=org.headers)
        assert r.status_code == 422, (body, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
    r = await client.post("/v1/locations", json=cases[0], headers=org.headers)
    assert r.json()["errors"] == [{"field": "services", "message": "unknown: dermatology"}]


async def test_delete_location(client: httpx.AsyncClient, org: Org) -> None:
    loc = await post(client, org, "/v1/locations", {"name": "Gone", "postal_code": "60611"})
    r = await client.delete(f"/v1/locations/{loc['id']}", headers=org.headers)
    assert r.status_code == 204
    r = await client.get(f"/v1/locations/{loc['id']}", headers=org.headers)
    assert r.status_code == 404


async def test_service_crud_and_duplicate_code(client: httpx.AsyncClient, org: Org) -> None:
    svc = await post(client, org, "/v1/services", ORTHO)
    assert svc["code"] == "orthopedics" and "torn acl" in svc["synonyms"]
    r = await client.post(
        "/v1/services", json={"code": "Orthopedics", "name": "Again"}, headers=org.headers
    )
    assert r.status_code == 409 and r.json()["type"].endswith("/duplicate-service")
    other = await post(client, org, "/v1/services", {"code": "spine", "name": "Spine"})
    r = await client.patch(
        f"/v1/services/{other['id']}", json={"code": "orthopedics"}, headers=org.headers
    )
    assert r.status_code == 409
    r = await client.post(
        "/v1/services", json={"code": "bad code", "name": "x"}, headers=org.headers
    )
    assert r.status_code == 422
    r = await client.patch(
        f"/v1/services/{svc['id']}", json={"synonyms": ["knee"]}, headers=org.headers
    )
    assert r.status_code == 200 and r.json()["synonyms"] == ["knee"]
    codes = [
        s["code"] for s in (await client.get("/v1/services", headers=org.headers)).json()["data"]
    ]
    assert codes == ["orthopedics", "spine"]
    assert (
        await client.delete(f"/v1/services/{other['id']}", headers=org.headers)
    ).status_code == 204


async def test_service_rename_follows_into_locations_and_delete_in_use_is_409(
    client: httpx.AsyncClient, org: Org
) -> None:
    made = await setup_practice(client, org)
    r = await client.patch(
        f"/v1/services/{made['ortho']['id']}", json={"code": "ortho"}, headers=org.headers
    )
    assert r.status_code == 200
    loc = (await client.get(f"/v1/locations/{made['b']['id']}", headers=org.headers)).json()
    assert loc["services"] == ["ortho", "sleep-medicine"]
    r = await client.delete(f"/v1/services/{made['sleep']['id']}", headers=org.headers)
    assert r.status_code == 409
    assert sorted(r.json()["location_ids"]) == sorted([made["a"]["id"], made["b"]["id"]])


async def test_another_organisations_ids_are_404(
    client: httpx.AsyncClient, org: Org, other_org: Org
) -> None:
    made = await setup_practice(client, org)
    for path in (f"/v1/locations/{made['a']['id']}", f"/v1/services/{made['ortho']['id']}"):
        assert (await client.get(path, headers=other_org.headers)).status_code == 404
        r = await client.patch(path, json={"name": "mine now"}, headers=other_org.headers)
        assert r.status_code == 404
        assert (await client.delete(path, headers=other_org.headers)).status_code == 404
        assert (await client.get(path, headers=org.headers)).status_code == 200
    r = await client.get(f"/v1/locations/{uuid.uuid4()}", headers=org.headers)
    assert r.status_code == 404
    assert (await client.get("/v1/locations", headers=other_org.headers)).json()["data"] == []


async def test_practice_endpoints_need_admin(client: httpx.AsyncClient, org: Org) -> None:
    r = await client.post(
        "/v1/api-keys", json={"name": "w", "scopes": ["leads:write"]}, headers=org.headers
    )
    headers = {"Authorization": f"Bearer {r.json()['key']}"}
    for path in ("/v1/locations", "/v1/services", "/v1/scoring-settings"):
        assert (await client.get(path, headers=headers)).status_code == 403
    assert (await client.get("/v1/locations")).status_code == 401


async def test_scoring_settings_defaults_put_and_validation(
    client: httpx.AsyncClient, org: Org
) -> None:
    r = await client.get("/v1/scoring-settings", headers=org.headers)
    assert r.status_code == 200
    default = r.json()
    assert sum(default["weights"].values()) == 100 and default["settings_version"] == 0
    assert default["duplicate_window_hours"] == 720
    weights = {"service": 40, "location": 20, "urgency": 10, "contactability": 10,
               "eligibility": 15, "consent": 5}  # fmt: skip
    body = {"weights": weights, "hot_threshold": 80, "warm_threshold": 50,
            "red_flag_phrases": ["vision loss"], "duplicate_window_hours": 48}  # fmt: skip
    r = await client.put("/v1/scoring-settings", json=body, headers=org.headers)
    assert r.status_code == 200, r.text
    saved = r.json()
    assert saved["weights"] == weights and saved["settings_version"] == 1
    assert saved["practice_version"] == 1 and saved["red_flag_phrases"] == ["vision loss"]
    bad = {**body, "weights": {**weights, "service": 50}}
    r = await client.put("/v1/scoring-settings", json=bad, headers=org.headers)
    assert r.status_code == 422
    assert r.json()["errors"] == [
        {"field": "weights", "message": "weights must add up to 100, got 110"}
    ]
    for wrong in (
        {"weights": {**weights, "charm": 0}},
        {"hot_threshold": 30, "warm_threshold": 60},
    ):
        r = await client.put("/v1/scoring-settings", json={**body, **wrong}, headers=org.headers)
        assert r.status_code == 422, wrong
    r = await client.get("/v1/scoring-settings", headers=org.headers)
    assert r.json()["settings_version"] == 1 and r.json()["hot_threshold"] == 80


async def test_changes_are_audited_without_values(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    made = await setup_practice(client, org)
    await client.patch(
        f"/v1/locations/{made['a']['id']}", json={"phone": "+13125550100"}, headers=org.headers
    )
    rows = (
        await session.execute(
            select(AuditEvent.action, AuditEvent.details)
            .where(AuditEvent.organization_id == org.id)
            .order_by(AuditEvent.id)
        )
    ).all()
    actions = [a for a, _ in rows]
    assert actions.count("service.create") == 2 and actions.count("location.create") == 2
    update = next(d for a, d in rows if a == "location.update")
    assert update == {"fields": ["phone"]}


async def test_practice_version_bumps_with_every_change(
    client: httpx.AsyncClient, org: Org
) -> None:
    await setup_practice(client, org)
    r = await client.get("/v1/scoring-settings", headers=org.headers)
    assert r.json()["practice_version"] == 4 and r.json()["settings_version"] == 0
    await post(client, org, "/v1/locations", {**NAPERVILLE, "name": "Naperville 2"})
    r = await client.get("/v1/scoring-settings", headers=org.headers)
    assert r.json()["practice_version"] == 5
