"""`POST /v1/webhook-subscriptions/{id}/retry-now`: a receiver back after an outage gets
everything still owed to it at once, not on the retry schedule."""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from app.handoff import delivery
from tests.conftest import Org
from tests.handoff.conftest import Receiver, drain, emit_many, org_deliveries, subscribe

pytestmark = pytest.mark.usefixtures("fast_retries")


async def _statuses(engine: AsyncEngine, org_id: uuid.UUID) -> Counter[str]:
    return Counter(d.status for d in await org_deliveries(engine, org_id))


async def test_retry_now_sends_every_dead_and_waiting_delivery_once(
    client: httpx.AsyncClient,
    org: Org,
    receiver: Receiver,
    engine: AsyncEngine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sub = await subscribe(client, org, receiver.url, ["lead.routed"])
    receiver.decide = lambda hit: 503
    # Two deliveries give up (two quick attempts), two wait an hour for their next one.
    monkeypatch.setattr(delivery, "RETRY_SCHEDULE", (0.05,))
    await emit_many(engine, org.id, 2)

    async def two_dead() -> bool:
        return (await _statuses(engine, org.id))["dead"] == 2

    await drain(engine, two_dead)
    monkeypatch.setattr(delivery, "RETRY_SCHEDULE", (3600, 3600))
    await emit_many(engine, org.id, 2)

    async def two_waiting() -> bool:
        return (await _statuses(engine, org.id)) == Counter(dead=2, retrying=2)

    await drain(engine, two_waiting)
    failed_ids = {h.webhook_id for h in receiver.hits}
    assert len(failed_ids) == 4

    receiver.decide = lambda hit: 200
    r = await client.post(f"/v1/webhook-subscriptions/{sub['id']}/retry-now", headers=org.headers)
    assert r.status_code == 202, r.text
    assert r.json() == {"subscription_id": sub["id"], "scheduled": 4}

    async def all_sent() -> bool:
        return (await _statuses(engine, org.id)) == Counter(succeeded=4)

    await drain(engine, all_sent)
    delivered = Counter(h.webhook_id for h in receiver.ok())
    assert set(delivered) == failed_ids and set(delivered.values()) == {1}
    again = await client.post(
        f"/v1/webhook-subscriptions/{sub['id']}/retry-now", headers=org.headers
    )
    assert again.json()["scheduled"] == 0  # nothing is owed any more


async def test_retry_now_is_the_admins_and_refused_on_a_disabled_subscription(
    client: httpx.AsyncClient, org: Org, other_org: Org
) -> None:
    sub: dict[str, Any] = await subscribe(client, org, "https://hooks.example.com/x")
    path = f"/v1/webhook-subscriptions/{sub['id']}/retry-now"
    assert (await client.post(path, headers=other_org.headers)).status_code == 404
    key = await client.post(
        "/v1/api-keys", json={"name": "reader", "scopes": ["leads:read"]}, headers=org.headers
    )
    reader = {"Authorization": f"Bearer {key.json()['key']}"}
    assert (await client.post(path, headers=reader)).status_code == 403
    await client.patch(
        f"/v1/webhook-subscriptions/{sub['id']}", json={"active": False}, headers=org.headers
    )
    r = await client.post(path, headers=org.headers)
    assert r.status_code == 409 and r.json()["type"].endswith("/subscription-disabled")
