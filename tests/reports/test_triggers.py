"""lead_metrics follows leads and appointments through the database triggers."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import Org
from tests.intake.helpers import person, post_lead

START = "2026-02-10T15:00:00+00:00"
END = "2026-02-10T15:30:00+00:00"


async def _metrics(session: AsyncSession, lead_id: str) -> dict[str, Any] | None:
    row = await session.execute(
        text("SELECT * FROM lead_metrics WHERE lead_id = :id"), {"id": uuid.UUID(lead_id)}
    )
    found = row.mappings().one_or_none()
    return dict(found) if found else None


async def test_lead_columns_follow_the_lead(
    client: httpx.AsyncClient, session: AsyncSession, org: Org
) -> None:
    r = await post_lead(
        client, org, person(1, attribution={"utm_source": "FB", "utm_campaign": "c1"})
    )
    lead_id = r.json()["lead_id"]
    m = await _metrics(session, lead_id)
    assert m is not None
    assert (m["organization_id"], m["source"], m["campaign"], m["is_test"]) == (
        org.id, "fb", "c1", False,
    )  # fmt: skip
    await session.execute(
        text(
            "UPDATE leads SET first_attempt_at = received_at + interval '2 minutes', "
            "team_id = :team, escalation_count = 2 WHERE id = :id"
        ),
        {"id": uuid.UUID(lead_id), "team": uuid.UUID(int=7)},
    )
    m = await _metrics(session, lead_id)
    assert m is not None
    assert (m["first_attempt_at"] - m["received_at"]).total_seconds() == 120
    assert (m["team_id"], m["escalation_count"]) == (uuid.UUID(int=7), 2)
    await session.execute(text("DELETE FROM leads WHERE id = :id"), {"id": uuid.UUID(lead_id)})
    assert await _metrics(session, lead_id) is None


async def test_appointment_facts_follow_appointments(
    client: httpx.AsyncClient, session: AsyncSession, org: Org
) -> None:
    lead_id = (await post_lead(client, org, person(2))).json()["lead_id"]
    url = f"/v1/leads/{lead_id}/appointments"
    booked = {"status": "booked", "start": START, "end": END, "external_id": "t-1"}
    first = await client.post(url, json=booked, headers=org.headers)
    assert first.status_code == 201, first.text
    m = await _metrics(session, lead_id)
    assert m is not None and m["booked_at"] is not None
    assert m["first_appointment_start"].isoformat() == START
    patch = await client.patch(
        f"/v1/appointments/{first.json()['id']}", json={"status": "noshow"}, headers=org.headers
    )
    assert patch.status_code == 200, patch.text
    m = await _metrics(session, lead_id)
    assert m is not None and (m["noshow_count"], m["completed_at"]) == (1, None)
    again = {"status": "fulfilled", "start": END, "end": END, "external_id": "t-2"}
    second = await client.post(url, json=again, headers=org.headers)
    assert second.status_code == 201
    m = await _metrics(session, lead_id)
    assert m is not None and m["completed_at"].isoformat() == END
    assert m["last_appointment_start"].isoformat() == END
    await session.execute(text("DELETE FROM appointments WHERE lead_id = :id"),
                          {"id": uuid.UUID(lead_id)})  # fmt: skip
    m = await _metrics(session, lead_id)
    assert m is not None
    assert (m["booked_at"], m["completed_at"], m["noshow_count"]) == (None, None, 0)


async def test_entered_in_error_is_not_booked(
    client: httpx.AsyncClient, session: AsyncSession, org: Org
) -> None:
    lead_id = (await post_lead(client, org, person(3))).json()["lead_id"]
    booked = {"status": "booked", "start": START, "end": END}
    r = await client.post(f"/v1/leads/{lead_id}/appointments", json=booked, headers=org.headers)
    patch = await client.patch(
        f"/v1/appointments/{r.json()['id']}",
        json={"status": "entered-in-error"},
        headers=org.headers,
    )
    assert patch.status_code == 200, patch.text
    m = await _metrics(session, lead_id)
    assert m is not None and (m["booked_at"], m["first_appointment_start"]) == (None, None)
