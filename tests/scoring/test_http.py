"""Scoring decisions as a sender and an intake person see them, through the HTTP API."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.models import AuditEvent
from app.leads.models import Lead
from app.scoring.core import CRISIS_INSTRUCTION, EMERGENCY_INSTRUCTION
from app.scoring.safety import CRISIS_INSTRUCTION_ES
from tests.conftest import Org
from tests.intake.helpers import person, post_lead
from tests.practice.helpers import setup_practice


def knee_lead(n: int, **overrides: Any) -> dict[str, Any]:
    """A qualifying orthopedics lead from Lincoln Park, near Streeterville."""
    body = person(
        n,
        postal_code="60614",
        service={"text": "knee pain doctor"},
        reason="It hurts on the stairs.",
        insurance={"carrier": "Aetna", "plan": "PPO"},
        requested_timeframe="next week",
        urgency="routine",
    )
    body.update(overrides)
    return body


async def lead_detail(client: httpx.AsyncClient, org: Org, lead_id: str) -> dict[str, Any]:
    r = await client.get(f"/v1/leads/{lead_id}", headers=org.headers)
    assert r.status_code == 200, r.text
    return dict(r.json())


async def test_knee_pain_near_a_is_orthopedics_at_a_qualified_and_explained(
    client: httpx.AsyncClient, org: Org
) -> None:
    made = await setup_practice(client, org)
    r = await post_lead(client, org, knee_lead(1))
    assert r.status_code == 201, r.text
    answer = r.json()
    assert answer["service_code"] == "orthopedics"
    assert answer["location_id"] == made["a"]["id"]
    assert answer["qualified"] is True and answer["not_qualified_reasons"] == []
    assert answer["emergency"] is False and "safety_instruction" not in answer
    assert answer["score_band"] in ("hot", "warm") and answer["status"] == "new"
    detail = (await lead_detail(client, org, answer["lead_id"]))["assessment"]
    assert detail["service_code"] == "orthopedics" and detail["qualified"] is True
    assert detail["location_match"]["name"] == "Streeterville"
    assert 0 < detail["distance_miles"] < 12
    assert detail["scoring_version"] == "scoring-2+s0"
    breakdown = detail["score_breakdown"]
    assert [f["factor"] for f in breakdown] == [
        "service", "location", "urgency", "contactability", "eligibility", "consent"
    ]  # fmt: skip
    assert sum(f["points"] for f in breakdown) == detail["score"] == answer["score"]
    assert "orthopedics" in breakdown[0]["evidence"] and "Streeterville" in breakdown[1]["evidence"]
    assert all(f["evidence"] for f in breakdown)
    # the phrase that matched is shown to a leads:read caller, from the encrypted document
    match = detail["service_match"]
    assert (match["matched_phrase"], match["matched_text"]) == ("knee pain", "knee pain")


async def test_the_same_lead_scores_identically(client: httpx.AsyncClient, org: Org) -> None:
    await setup_practice(client, org)
    decisions = ("service_code", "location_id", "urgency", "emergency", "qualified", "score",
                 "score_band", "not_qualified_reasons")  # fmt: skip
    first = (await post_lead(client, org, knee_lead(2))).json()
    again = await post_lead(client, org, knee_lead(2))
    assert again.status_code == 200 and again.json()["resubmission"] is True
    assert {k: again.json()[k] for k in decisions} == {k: first[k] for k in decisions}
    twin = (await post_lead(client, org, knee_lead(3))).json()
    assert twin["lead_id"] != first["lead_id"]
    assert {k: twin[k] for k in decisions} == {k: first[k] for k in decisions}
    a = (await lead_detail(client, org, first["lead_id"]))["assessment"]
    b = (await lead_detail(client, org, twin["lead_id"]))["assessment"]
    assert a["score_breakdown"] == b["score_breakdown"]


async def test_crushing_chest_pain_is_an_emergency_with_the_safety_instruction(
    client: httpx.AsyncClient, org: Org
) -> None:
    await setup_practice(client, org)
    body = knee_lead(
        4, service=None, reason="crushing chest pain since this morning", language="en"
    )
    r = await post_lead(client, org, body)
    assert r.status_code == 201, r.text
    answer = r.json()
    assert answer["emergency"] is True and answer["urgency"] == "emergency"
    assert answer["safety_instruction"] == EMERGENCY_INSTRUCTION
    assert "911" in answer["safety_instruction"]
    detail = (await lead_detail(client, org, answer["lead_id"]))["assessment"]
    assert detail["emergency"] is True and detail["red_flags"] == ["cardiac.chest_pain"]
    assert detail["concepts"] == [
        {"code": "cardiac.chest_pain", "level": "emergency", "words": "crushing chest pain"}
    ]
    assert detail["safety_instruction"] == EMERGENCY_INSTRUCTION
    assert detail["route_hint"] == "urgent_team"


async def test_crisis_language_gets_988(client: httpx.AsyncClient, org: Org) -> None:
    await setup_practice(client, org)
    body = knee_lead(
        5, service=None, reason="I can't sleep and I want to end my life", language="en"
    )
    answer = (await post_lead(client, org, body)).json()
    assert answer["emergency"] is True and answer["safety_instruction"] == CRISIS_INSTRUCTION
    assert "988" in answer["safety_instruction"]
    # a Spanish-speaking lead is told in Spanish, with the Spanish line
    body = knee_lead(6, service=None, reason="ya no quiero vivir", language="es")
    answer = (await post_lead(client, org, body)).json()
    assert answer["safety_instruction"] == CRISIS_INSTRUCTION_ES


async def test_insurance_not_taken_is_not_qualified_but_kept(
    client: httpx.AsyncClient, org: Org
) -> None:
    made = await setup_practice(client, org)
    body = knee_lead(6, insurance={"carrier": "Cigna", "plan": "Open Access Plus"})
    r = await post_lead(client, org, body)
    assert r.status_code == 201
    answer = r.json()
    assert answer["qualified"] is False and answer["status"] == "not_qualified"
    assert answer["location_id"] == made["a"]["id"]
    assert [x["code"] for x in answer["not_qualified_reasons"]] == ["insurance_not_accepted"]
    assert "Streeterville" in answer["not_qualified_reasons"][0]["message"]
    detail = await lead_detail(client, org, answer["lead_id"])
    assert detail["status"] == "not_qualified"
    assert detail["assessment"]["not_qualified_reasons"] == answer["not_qualified_reasons"]


async def test_no_practice_configured_still_answers_and_detects_emergencies(
    client: httpx.AsyncClient, org: Org
) -> None:
    r = await post_lead(client, org, knee_lead(7))
    assert r.status_code == 201, r.text
    answer = r.json()
    assert answer["service_code"] is None and answer["location_id"] is None
    assert answer["qualified"] is None and answer["status"] == "new"
    assert [x["code"] for x in answer["not_qualified_reasons"]] == ["practice_not_configured"]
    assert isinstance(answer["score"], int) and answer["score"] > 0
    body = knee_lead(8, reason="chest pain and short of breath", language="en")
    answer = (await post_lead(client, org, body)).json()
    assert answer["emergency"] is True and answer["safety_instruction"] == EMERGENCY_INSTRUCTION


async def test_a_service_change_is_seen_by_the_next_lead(
    client: httpx.AsyncClient, org: Org
) -> None:
    made = await setup_practice(client, org)
    body = knee_lead(9, service={"text": "teeth grinding at night"})
    before = (await post_lead(client, org, body)).json()
    assert before["service_code"] is None
    r = await client.patch(
        f"/v1/services/{made['sleep']['id']}",
        json={"synonyms": ["snoring", "teeth grinding"]},
        headers=org.headers,
    )
    assert r.status_code == 200
    after = (await post_lead(client, org, knee_lead(10, service=body["service"]))).json()
    assert after["service_code"] == "sleep-medicine"
    detail = await lead_detail(client, org, after["lead_id"])
    assert detail["assessment"]["practice_version"] == 5


async def test_organisation_weights_and_red_flags_apply(
    client: httpx.AsyncClient, org: Org
) -> None:
    await setup_practice(client, org)
    weights = {"service": 50, "location": 10, "urgency": 10, "contactability": 10,
               "eligibility": 10, "consent": 10}  # fmt: skip
    settings = {"weights": weights, "red_flag_phrases": ["vision loss"]}
    assert (await client.put("/v1/scoring-settings", json=settings, headers=org.headers)).is_success
    answer = (await post_lead(client, org, knee_lead(11, reason="sudden vision loss"))).json()
    assert answer["emergency"] is True
    detail = (await lead_detail(client, org, answer["lead_id"]))["assessment"]
    assert detail["score_breakdown"][0]["max_points"] == 50
    assert detail["scoring_version"] == "scoring-2+s1"


async def test_rescore_via_facts_is_audited_by_field_name(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    made = await setup_practice(client, org)
    lead_id = (await post_lead(client, org, knee_lead(12))).json()["lead_id"]
    r = await client.patch(
        f"/v1/leads/{lead_id}/facts",
        json={"service_code": "sleep-medicine", "postal_code": "60540"},
        headers=org.headers,
    )
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["service_code"] == "sleep-medicine" and out["location_id"] == made["b"]["id"]
    assert out["changed"] == ["postal_code", "service_code"] and out["qualified"] is True
    detail = await lead_detail(client, org, lead_id)
    assert detail["location_facts"]["postal_code"] == "60540"
    assert detail["assessment"]["location_match"]["name"] == "Naperville"
    assert detail["request"]["service_code"] == "sleep-medicine"
    audit = (
        await session.execute(
            select(AuditEvent.details).where(
                AuditEvent.organization_id == org.id, AuditEvent.action == "lead.rescore"
            )
        )
    ).scalar_one()
    assert audit == {"fields": ["postal_code", "service_code"]}


async def test_rescore_to_an_unaccepted_insurance_and_back(
    client: httpx.AsyncClient, org: Org
) -> None:
    await setup_practice(client, org)
    lead_id = (await post_lead(client, org, knee_lead(13))).json()["lead_id"]
    path = f"/v1/leads/{lead_id}/facts"
    r = await client.patch(path, json={"insurance": {"carrier": "Humana"}}, headers=org.headers)
    assert r.json()["qualified"] is False and r.json()["status"] == "not_qualified"
    r = await client.patch(path, json={"insurance": {"carrier": "Medicare"}}, headers=org.headers)
    assert r.json()["qualified"] is True and r.json()["status"] == "new"
    r = await client.patch(path, json={"reason": "chest pain now"}, headers=org.headers)
    assert r.json()["emergency"] is True and "911" in r.json()["safety_instruction"]
    detail = await lead_detail(client, org, lead_id)
    assert detail["request"]["reason"] == "chest pain now"
    assert detail["request"]["insurance"] == {"carrier": "Medicare"}


async def test_rescore_errors(client: httpx.AsyncClient, org: Org, other_org: Org) -> None:
    lead_id = (await post_lead(client, org, knee_lead(14))).json()["lead_id"]
    path = f"/v1/leads/{lead_id}/facts"
    assert (await client.patch(path, json={}, headers=other_org.headers)).status_code == 404
    assert (
        await client.patch(path, json={"postal_code": "6061"}, headers=org.headers)
    ).status_code == 422
    assert (await client.patch(path, json={"score": 100}, headers=org.headers)).status_code == 422
    r = await client.patch(path, json={}, headers=org.headers)
    assert r.status_code == 200 and r.json()["changed"] == []


async def test_the_duplicate_window_comes_from_the_settings(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    first = (await post_lead(client, org, knee_lead(15))).json()
    two_hours_ago = dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)
    await session.execute(
        update(Lead).where(Lead.id == first["lead_id"]).values(received_at=two_hours_ago)
    )
    await session.commit()
    again = (await post_lead(client, org, knee_lead(15, external_id="again"))).json()
    assert again["resubmission"] is True
    settings = {"duplicate_window_hours": 1}
    assert (await client.put("/v1/scoring-settings", json=settings, headers=org.headers)).is_success
    third = await post_lead(client, org, knee_lead(15, external_id="third"))
    assert third.status_code == 201 and third.json()["lead_id"] != first["lead_id"]
