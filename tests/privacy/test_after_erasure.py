"""After an erasure nothing new is recorded about the person, and what the lead keeps of its
triage is our own vocabulary: concept codes and levels, never the words that matched."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import Org
from tests.consent.helpers import new_lead
from tests.intake.helpers import person, post_lead
from tests.outreach.helpers import at, attempt, backdate, key_with, problem_type
from tests.practice.helpers import setup_practice


async def _erase(client: httpx.AsyncClient, org: Org, lead_id: str) -> None:
    eraser = await key_with(client, org, "leads:erase")
    r = await client.delete(f"/v1/leads/{lead_id}", headers=eraser.headers)
    assert r.status_code == 200, r.text


async def test_attempts_appointments_and_holds_on_an_erased_lead_are_409(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    lead_id = await new_lead(client, org, 8601)
    await backdate(session, lead_id)
    url = f"/v1/leads/{lead_id}"
    r = await client.post(f"{url}/appointments", json={"status": "proposed"}, headers=org.headers)
    assert r.status_code == 201, r.text
    appointment_id = r.json()["id"]
    await _erase(client, org, lead_id)

    refused = [
        await client.post(
            f"{url}/contact-attempts", json=attempt("no_answer", at(16)), headers=org.headers
        ),
        await client.post(f"{url}/appointments", json={"status": "proposed"}, headers=org.headers),
        await client.patch(
            f"/v1/appointments/{appointment_id}", json={"status": "booked"}, headers=org.headers
        ),
        await client.post(f"{url}/slot-holds", json={"slot_id": "any"}, headers=org.headers),
    ]
    for r in refused:
        assert r.status_code == 409, r.text
        assert problem_type(r) == "lead-erased"

    # nothing was recorded, and each refusal is in the audit trail with its outcome
    assert (await client.get(f"{url}/contact-attempts", headers=org.headers)).json()["data"] == []
    listed = (await client.get(f"{url}/appointments", headers=org.headers)).json()["data"]
    assert [a["status"] for a in listed] == ["proposed"]
    outcomes = (
        await session.execute(
            text(
                "SELECT outcome FROM audit_events WHERE organization_id = :o"
                " AND problem_type = 'lead-erased'"
            ),
            {"o": org.id},
        )
    ).scalars()
    assert list(outcomes) == ["refused"] * len(refused)


async def test_erasure_keeps_the_concept_codes_and_drops_the_matched_words(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    await setup_practice(client, org)
    body = {**person(8602), "reason": "crushing pain in my chest and sweating"}
    r = await post_lead(client, org, body)
    assert r.status_code == 201 and r.json()["emergency"] is True, r.text
    lead_id = r.json()["lead_id"]
    before = (await client.get(f"/v1/leads/{lead_id}", headers=org.headers)).json()["assessment"]
    assert any("crushing" in (c["words"] or "") for c in before["concepts"]), before

    await _erase(client, org, lead_id)
    after = (await client.get(f"/v1/leads/{lead_id}", headers=org.headers)).json()["assessment"]
    assert after["red_flags"] == before["red_flags"] and after["red_flags"]
    codes = [(c["code"], c["level"]) for c in before["concepts"]]
    assert [(c["code"], c["level"]) for c in after["concepts"]] == codes
    assert all(c["words"] is None for c in after["concepts"])
    # the words lived only in the lead's encrypted document, which is gone
    pii = await session.scalar(
        text("SELECT pii FROM leads WHERE id = :l"), {"l": uuid.UUID(lead_id)}
    )
    assert pii is None
    stored = await session.scalar(
        text("SELECT assessment::text FROM leads WHERE id = :l"), {"l": uuid.UUID(lead_id)}
    )
    assert "crushing" not in stored and "chest" not in stored.replace("cardiac.chest", "")
