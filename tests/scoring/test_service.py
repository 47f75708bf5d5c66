"""The scoring service: cached practice per (organisation, version), defaults, demo."""

from __future__ import annotations

import datetime as dt

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog.versions import bump
from app.demo import practice as practice_demo
from app.scoring import service as scoring_service
from tests.conftest import Org
from tests.intake.helpers import person, post_lead
from tests.practice.helpers import setup_practice


async def test_no_configuration_uses_defaults_without_compiling(
    session: AsyncSession, org: Org
) -> None:
    loaded = await scoring_service.load_practice(session, org.id)
    assert loaded.version == 0 and loaded.configured is False
    assert loaded is scoring_service._EMPTY
    window = await scoring_service.duplicate_window(session, org.id)
    assert window == dt.timedelta(days=30)


async def test_compiled_practice_is_cached_per_version(
    client: httpx.AsyncClient, session: AsyncSession, org: Org
) -> None:
    made = await setup_practice(client, org)
    first = await scoring_service.load_practice(session, org.id)
    assert first.configured and first.version == 4
    assert set(first.compiled.services) == {"orthopedics", "sleep medicine"}
    await session.commit()  # a new transaction reads the version again
    assert await scoring_service.load_practice(session, org.id) is first
    r = await client.patch(
        f"/v1/locations/{made['b']['id']}",
        json={"accepts_new_patients": False},
        headers=org.headers,
    )
    assert r.status_code == 200
    await session.commit()
    second = await scoring_service.load_practice(session, org.id)
    assert second is not first and second.version == 5
    naperville = next(c for c in second.compiled.locations if c.defn.name == "Naperville")
    assert naperville.defn.accepts_new_patients is False


async def test_services_without_locations_are_not_configured(
    client: httpx.AsyncClient, org: Org
) -> None:
    r = await client.post(
        "/v1/services", json={"code": "orthopedics", "name": "Orthopedics"}, headers=org.headers
    )
    assert r.status_code == 201
    answer = (await post_lead(client, org, person(1, service={"code": "orthopedics"}))).json()
    assert answer["service_code"] == "orthopedics" and answer["qualified"] is None
    assert [x["code"] for x in answer["not_qualified_reasons"]] == ["practice_not_configured"]


async def test_demo_practice_scores_leads(
    client: httpx.AsyncClient, session: AsyncSession, org: Org
) -> None:
    await practice_demo.seed(session, org.id)
    await session.commit()
    locations = (await client.get("/v1/locations", headers=org.headers)).json()["data"]
    assert [x["name"] for x in locations] == ["Lakeshore Naperville", "Lakeshore Streeterville"]
    assert all(x["time_zone"] == "America/Chicago" for x in locations)
    streeterville = locations[1]
    assert streeterville["hours"]["sat"] == [["08:00", "12:00"]]
    assert "2026-12-25" in streeterville["holidays"]
    body = person(2, postal_code="60657", service={"text": "torn ACL"}, language="es")
    answer = (await post_lead(client, org, body)).json()
    assert answer["service_code"] == "orthopedics" and answer["location_id"] == streeterville["id"]
    assert answer["qualified"] is True
    snoring = person(3, postal_code="60565", service={"text": "my husband's snoring"})
    answer = (await post_lead(client, org, snoring)).json()
    assert answer["service_code"] == "sleep-medicine"
    assert answer["location_id"] == locations[0]["id"]
    settings = (await client.get("/v1/scoring-settings", headers=org.headers)).json()
    assert "coughing up blood" in settings["red_flag_phrases"]


async def test_config_is_read_once_per_transaction_and_forgotten_on_change(
    session: AsyncSession, org: Org
) -> None:
    first = await scoring_service.load_config(session, org.id)
    assert await scoring_service.load_config(session, org.id) is first
    await bump(session, org.id)
    changed = await scoring_service.load_config(session, org.id)
    assert (first.practice_version, changed.practice_version) == (0, 1)
