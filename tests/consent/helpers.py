"""Shared helpers for the consent HTTP tests."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import Org
from tests.intake.helpers import person, post_lead

# Tuesday 18 March 2025, 11:00 in Chicago: inside every calling window.
OPEN_HOURS = "2025-03-18T16:00:00Z"


async def new_lead(client: httpx.AsyncClient, org: Org, n: int, **overrides: Any) -> str:
    r = await post_lead(client, org, {**person(n), **overrides})
    assert r.status_code == 201, r.text
    return str(r.json()["lead_id"])


async def eligibility(
    client: httpx.AsyncClient, org: Org, lead_id: str, channel: str, at: str = OPEN_HOURS
) -> dict[str, Any]:
    r = await client.get(
        f"/v1/leads/{lead_id}/contact-eligibility",
        params={"channel": channel, "at": at},
        headers=org.headers,
    )
    assert r.status_code == 200, r.text
    return dict(r.json())


async def revoke(client: httpx.AsyncClient, org: Org, **body: Any) -> httpx.Response:
    return await client.post("/v1/consent/revocations", json=body, headers=org.headers)


async def consent_of(client: httpx.AsyncClient, org: Org, lead_id: str) -> dict[str, Any]:
    r = await client.get(f"/v1/leads/{lead_id}/consent", headers=org.headers)
    assert r.status_code == 200, r.text
    return dict(r.json())


def rules(decision: dict[str, Any]) -> list[str]:
    return [r["rule"] for r in decision["reasons"]]
