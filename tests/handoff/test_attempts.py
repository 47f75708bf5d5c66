"""What an attempt's outcome makes of a delivery (the pure core), and the deliveries the
worker gives up on without a POST."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from app.handoff import delivery
from app.handoff.delivery import Attempted, Outcome, after_attempt
from tests.conftest import Org
from tests.handoff.conftest import (
    FAST_SCHEDULE,
    Receiver,
    drain_until_status,
    emit_many,
    org_deliveries,
)

pytestmark = pytest.mark.usefixtures("fast_retries")

NOW = dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.UTC)
LAST = len(FAST_SCHEDULE) + 1  # the attempt after which no retry is left


@pytest.mark.parametrize(
    ("before", "outcome", "status", "retry_in", "disable"),
    [
        (0, Outcome(200), "succeeded", None, False),
        (3, Outcome(204), "succeeded", None, False),
        (0, Outcome(500, "HTTP 500"), "retrying", FAST_SCHEDULE[0], False),
        (2, Outcome(500, "HTTP 500"), "retrying", FAST_SCHEDULE[2], False),
        (0, Outcome(None, "connection failed (ConnectError)"), "retrying", FAST_SCHEDULE[0], False),
        # A throttled answer names its own wait, which replaces the schedule's.
        (0, Outcome(429, "HTTP 429", 120.0), "retrying", 120.0, False),
        (1, Outcome(504, "HTTP 504", 7.0), "retrying", 7.0, False),
        # Retry-After on an answer that is not throttling is not ours to honour.
        (0, Outcome(500, "HTTP 500", 120.0), "retrying", FAST_SCHEDULE[0], False),
        (0, Outcome(410, "HTTP 410"), "dead", None, True),
        (LAST - 1, Outcome(500, "HTTP 500"), "dead", None, False),
        (LAST - 2, Outcome(500, "HTTP 500"), "retrying", FAST_SCHEDULE[-1], False),
    ],
)  # fmt: skip
def test_after_attempt(
    before: int, outcome: Outcome, status: str, retry_in: float | None, disable: bool
) -> None:
    after = after_attempt(before, outcome, NOW)
    assert (after.status, after.attempts, after.disable) == (status, before + 1, disable)
    assert after.error == (None if outcome.ok else outcome.error)
    if retry_in is None:
        assert after.next_attempt_at is None
    else:
        assert after.next_attempt_at is not None
        wait = (after.next_attempt_at - NOW).total_seconds()
        jitter = 0.0 if outcome.retry_after and outcome.status_code in delivery.THROTTLED else 0.2
        assert retry_in * (1 - jitter) <= wait <= retry_in * (1 + jitter)


def test_a_long_error_is_cut_to_the_column() -> None:
    after = after_attempt(0, Outcome(None, "x" * 900), NOW)
    assert after == Attempted("retrying", 1, after.next_attempt_at, "x" * 500)


async def test_a_delivery_of_a_disabled_subscription_ends_dead_without_a_post(
    client: httpx.AsyncClient,
    org: Org,
    receiver: Receiver,
    engine: AsyncEngine,
    routed_subscription: dict[str, Any],
) -> None:
    await emit_many(engine, org.id, 1)
    r = await client.patch(
        f"/v1/webhook-subscriptions/{routed_subscription['id']}", json={"active": False},
        headers=org.headers,
    )  # fmt: skip
    assert r.status_code == 200, r.text

    await drain_until_status(engine, org.id, "dead")
    (row,) = await org_deliveries(engine, org.id)
    assert receiver.hits == []
    assert (row.last_error, row.attempts, row.next_attempt_at) == ("subscription disabled", 0, None)
