"""Shared helpers for the outreach (contact attempts, queue, SLA) tests."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.outbox.service import EVENT_TYPES
from tests.conftest import Org
from tests.consent.helpers import new_lead

# Tuesday 18 March 2025: 16:00Z is 11:00 in Chicago and 12:00 in Miami.
DAY = dt.datetime(2025, 3, 18, tzinfo=dt.UTC)
NIGHT = "2025-03-18T08:30:00Z"  # 03:30 in Chicago


def at(hour: int, minute: int = 0) -> str:
    return (DAY + dt.timedelta(hours=hour, minutes=minute)).isoformat().replace("+00:00", "Z")


async def key_with(client: httpx.AsyncClient, org: Org, *scopes: str) -> Org:
    r = await client.post(
        "/v1/api-keys", json={"name": "dialer", "scopes": list(scopes)}, headers=org.headers
    )
    assert r.status_code == 201, r.text
    return Org(org.id, r.json()["key"])


async def backdate(session: AsyncSession, lead_id: str, to: dt.datetime = DAY) -> None:
    """Attempts may not precede the lead; the fixed test dates need an older lead."""
    await session.execute(
        text("UPDATE leads SET received_at = :at WHERE id = :id"),
        {"at": to - dt.timedelta(days=1), "id": uuid.UUID(lead_id)},
    )
    await session.commit()


async def old_lead(
    client: httpx.AsyncClient, org: Org, session: AsyncSession, n: int, **overrides: Any
) -> str:
    lead_id = await new_lead(client, org, n, **overrides)
    await backdate(session, lead_id)
    return lead_id


def attempt(
    outcome: str = "no_answer", started_at: str | None = None, **extra: Any
) -> dict[str, Any]:
    return {"channel": "voice", "outcome": outcome, "started_at": started_at or at(16), **extra}


async def post_attempt(
    client: httpx.AsyncClient, org: Org, lead_id: str, body: dict[str, Any]
) -> httpx.Response:
    return await client.post(
        f"/v1/leads/{lead_id}/contact-attempts", json=body, headers=org.headers
    )


async def subscribe_all(client: httpx.AsyncClient, org: Org) -> None:
    """Events are only kept in the outbox when someone subscribes; nothing is delivered here."""
    r = await client.post(
        "/v1/webhook-subscriptions",
        json={"url": "http://127.0.0.1:9/hook", "event_types": list(EVENT_TYPES)},
        headers=org.headers,
    )
    assert r.status_code == 201, r.text


async def messages(session: AsyncSession, org: Org, event_type: str) -> list[dict[str, Any]]:
    rows = await session.execute(
        text(
            "SELECT payload FROM webhook_messages WHERE organization_id = :org"
            " AND event_type = :t ORDER BY created_at"
        ),
        {"org": org.id, "t": event_type},
    )
    return [dict(r[0]) for r in rows]


async def audit_actions(session: AsyncSession, org: Org) -> list[str]:
    rows = await session.execute(
        text("SELECT action FROM audit_events WHERE organization_id = :org ORDER BY created_at"),
        {"org": org.id},
    )
    return [r[0] for r in rows]


def problem_type(r: httpx.Response) -> str:
    assert r.headers["content-type"].startswith("application/problem+json"), r.text
    return str(r.json()["type"]).rsplit("/", 1)[-1]
