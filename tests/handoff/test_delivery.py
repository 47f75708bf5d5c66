"""Delivery over real HTTP on 127.0.0.1, by the real worker, against committed data."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app import worker
from app.config import Settings
from app.db import db
from app.handoff import delivery
from app.handoff.targets import Target
from app.outbox import service as outbox
from app.outbox.models import WebhookSubscription
from app.signatures import generate_whsec, sign_standard_webhook, verify_standard_webhook
from tests.conftest import Org, make_settings
from tests.handoff.conftest import (
    Hit,
    Receiver,
    drain,
    drain_until_status,
    emit_many,
    org_deliveries,
    subscribe,
    wait_for,
)
from tests.intake.helpers import create_source, person
from tests.routing.http_helpers import add_member, default_rule, make_team, publish_rules

pytestmark = pytest.mark.usefixtures("fast_retries")

# A poll interval no test lasts, and how long a test waits for what NOTIFY brings before it
# fails (well inside that interval; a bound on the wait, not a measured time).
POLL_NEVER, LIVENESS = 3600.0, 30.0
# What a test counts the worker running: the periodic jobs (the SLA sweep, the feeds' poll)
# that an earlier test's worker queued fall due too.
DELIVERIES = [outbox.DELIVER]


@contextlib.asynccontextmanager
async def worker_running(database_url: str, settings: Settings) -> AsyncIterator[None]:
    db.url = database_url
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run_forever(settings, stop))
    try:
        await asyncio.sleep(0.2)  # let it LISTEN before the first NOTIFY
        yield
    finally:
        stop.set()
        await task
        db.url = None


@dataclass
class FormIntake:
    """A routed organisation subscribed to both lead events, with a signed web-form source."""

    client: httpx.AsyncClient
    subscription: dict[str, Any]
    source_id: str
    secret: str

    async def post(self, n: int) -> httpx.Response:
        body = json.dumps(person(n, channel="web_form")).encode()
        ts, wid = int(time.time()), f"form-{uuid.uuid4().hex}"
        return await self.client.post(
            f"/v1/webhooks/{self.source_id}",
            content=body,
            headers={
                "content-type": "application/json",
                "webhook-id": wid,
                "webhook-timestamp": str(ts),
                "webhook-signature": sign_standard_webhook(wid, ts, body, self.secret),
            },
        )


@pytest.fixture
async def form_intake(client: httpx.AsyncClient, org: Org, receiver: Receiver) -> FormIntake:
    team = await make_team(client, org)
    await add_member(client, org, team["id"], "Ana")
    await publish_rules(client, org, [default_rule(team["id"])])
    sub = await subscribe(client, org, receiver.url)
    secret = generate_whsec()
    source = await create_source(client, org, "web_form", {"secrets": [secret]})
    return FormIntake(client, sub, source["id"], secret)


def verify(hit: Hit, secret: str) -> dict[str, object]:
    verify_standard_webhook(hit.body, hit.headers, [secret], dt.datetime.now(dt.UTC))
    return dict(json.loads(hit.body))


async def test_signed_form_lead_arrives_as_signed_lead_routed_woken_by_notify(
    form_intake: FormIntake,
    receiver: Receiver,
    database_url: str,
) -> None:
    assert (await form_intake.post(0)).is_success
    # The worker's next poll is an hour away: what arrives before then, LISTEN/NOTIFY
    # delivered. How fast: bench/bench_handoff.py.
    settings = make_settings(worker_poll_seconds=POLL_NEVER)
    async with worker_running(database_url, settings):
        # The lead sent before the worker started: its first batch at start.
        assert await wait_for(lambda: len(receiver.ok()) == 2, timeout=LIVENESS)
        r = await form_intake.post(1)
        assert r.status_code == 200, r.text
        lead_id = r.json()["leads"][0]["lead_id"]

        def routed() -> list[Hit]:
            return [h for h in receiver.ok() if json.loads(h.body)["type"] == "lead.routed"]

        assert await wait_for(lambda: len(routed()) == 2, timeout=LIVENESS)
    hit = next(h for h in routed() if lead_id in h.body.decode())
    payload = verify(hit, form_intake.subscription["secret"])
    data = payload["data"]
    assert isinstance(data, dict) and data["lead_id"] == lead_id and data["team_id"]
    assert hit.webhook_id.startswith("msg_") and hit.headers["webhook-timestamp"].isdigit()
    for phi in (b"Maria", b"Gonzalez", b"5550119", b"773-555", b"example.com", b"Knee pain"):
        assert phi not in hit.body


async def test_receiver_refusing_then_accepting_loses_nothing_and_duplicates_nothing(
    form_intake: FormIntake,
    org: Org,
    receiver: Receiver,
    database_url: str,
    engine: AsyncEngine,
) -> None:
    first: list[float] = []

    def refuse_for_two_seconds(hit: Hit) -> int:
        first.append(first[0] if first else hit.at)
        return 503 if hit.at - first[0] < 2.0 else 200

    receiver.decide = refuse_for_two_seconds
    async with worker_running(database_url, make_settings(worker_poll_seconds=0.1)):
        for n in range(3):
            assert (await form_intake.post(100 + n)).is_success
        expected = {d.webhook_id for d in await org_deliveries(engine, org.id)}
        assert len(expected) == 6  # lead.received + lead.routed for each lead
        assert await wait_for(lambda: {h.webhook_id for h in receiver.ok()} >= expected, 12.0)
        await asyncio.sleep(0.5)  # anything still in the pipe would show up as a duplicate

    ok = Counter(h.webhook_id for h in receiver.ok())
    assert set(ok) == expected and set(ok.values()) == {1}
    refused = [h for h in receiver.hits if h.status == 503]
    assert refused and {h.webhook_id for h in refused} <= expected
    for h in receiver.hits:
        verify(h, form_intake.subscription["secret"])
    rows = await org_deliveries(engine, org.id)
    assert {d.status for d in rows} == {"succeeded"}
    assert max(d.attempts for d in rows) > 1


async def test_two_workers_never_deliver_one_message_concurrently(
    org: Org,
    receiver: Receiver,
    engine: AsyncEngine,
    routed_subscription: dict[str, Any],
) -> None:
    await emit_many(engine, org.id, 200)
    receiver.delay = 0.002

    async def one_worker() -> None:
        sm = async_sessionmaker(engine, expire_on_commit=False)
        deadline = time.monotonic() + 20
        while len(receiver.ok()) < 200 and time.monotonic() < deadline:
            if not await worker.run_once(sm, limit=10):
                await asyncio.sleep(0.02)

    await asyncio.gather(one_worker(), one_worker())
    assert receiver.overlaps == []
    ok = Counter(h.webhook_id for h in receiver.ok())
    assert len(ok) == 200 and set(ok.values()) == {1}
    assert receiver.max_in_flight >= 2  # the two workers really did run side by side


async def test_one_worker_delivers_a_batch_a_few_at_a_time(
    org: Org,
    receiver: Receiver,
    engine: AsyncEngine,
    routed_subscription: dict[str, Any],
) -> None:
    # One at a time, a worker delivered fewer webhooks a second than intake accepts leads.
    await emit_many(engine, org.id, 8)
    receiver.delay = 0.2  # long enough that jobs run together overlap at the receiver

    ran = await worker.run_once(
        async_sessionmaker(engine, expire_on_commit=False), limit=8, kinds=DELIVERIES
    )

    assert ran == 8 and len(receiver.ok()) == 8
    assert receiver.max_in_flight == worker.JOB_CONCURRENCY
    assert receiver.overlaps == []


async def test_deliveries_to_one_endpoint_reuse_its_connections(
    client: httpx.AsyncClient,
    org: Org,
    receiver: Receiver,
    engine: AsyncEngine,
) -> None:
    # A connection (and, over HTTPS, a TLS handshake) per webhook cost more than the POST.
    receiver.keep_alive = True
    await subscribe(client, org, receiver.url, ["lead.routed"])
    sessions = async_sessionmaker(engine, expire_on_commit=False)

    for _ in range(2):
        await emit_many(engine, org.id, 8)
        assert await worker.run_once(sessions, limit=8, kinds=DELIVERIES) == 8

    assert len(receiver.ok()) == 16
    # At most one connection per job running at once, kept from one batch to the next.
    assert receiver.connections <= worker.JOB_CONCURRENCY
    await delivery.close_clients()


class _ImportAttempts:
    """A meta path finder that finds nothing and remembers what it was asked for."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def find_spec(self, name: str, *args: object) -> None:
        self.names.append(name)


async def test_a_delivery_searches_no_import_path(
    client: httpx.AsyncClient,
    org: Org,
    receiver: Receiver,
    engine: AsyncEngine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # httpcore imports sniffio inside every lock and event it sets up, and a module that is
    # not installed is searched for on disk again each time: 4 % of a server process's CPU
    # in bench_handoff. sniffio is a dependency for that alone; nothing of ours imports it.
    receiver.keep_alive = True
    await subscribe(client, org, receiver.url, ["lead.routed"])
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    await emit_many(engine, org.id, 2)
    assert (
        await worker.run_once(sessions, limit=2, kinds=DELIVERIES) == 2
    )  # first use imports what it needs
    attempts = _ImportAttempts()
    monkeypatch.setattr(sys, "meta_path", [attempts, *sys.meta_path])

    await emit_many(engine, org.id, 4)
    assert await worker.run_once(sessions, limit=4, kinds=DELIVERIES) == 4

    assert len(receiver.ok()) == 6
    assert attempts.names == []
    await delivery.close_clients()


@pytest.mark.parametrize(
    ("a", "b", "shared"),
    [
        (Target("https://203.0.113.9/h", {"host": "a.example"}, {"sni_hostname": "a.example"}),
         Target("https://203.0.113.9/x", {"host": "a.example"}, {"sni_hostname": "a.example"}),
         True),
        # Two names on one address: a connection made for one is never used for the other.
        (Target("https://203.0.113.9/h", {"host": "a.example"}, {"sni_hostname": "a.example"}),
         Target("https://203.0.113.9/h", {"host": "b.example"}, {"sni_hostname": "b.example"}),
         False),
        # One name, another address (DNS moved): a new connection to the checked address.
        (Target("https://203.0.113.9/h", {"host": "a.example"}, {"sni_hostname": "a.example"}),
         Target("https://203.0.113.7/h", {"host": "a.example"}, {"sni_hostname": "a.example"}),
         False),
        (Target("https://203.0.113.9/h"), Target("https://203.0.113.9:8443/h"), False),
        (Target("http://127.0.0.1:9000/a"), Target("http://127.0.0.1:9000/b"), True),
    ],
)  # fmt: skip
def test_connections_are_shared_only_by_one_address_and_name(
    a: Target, b: Target, shared: bool
) -> None:
    assert (delivery.client_key(a) == delivery.client_key(b)) is shared


async def test_410_disables_the_subscription(
    client: httpx.AsyncClient,
    org: Org,
    receiver: Receiver,
    engine: AsyncEngine,
    routed_subscription: dict[str, Any],
) -> None:
    receiver.decide = lambda hit: 410
    await emit_many(engine, org.id, 1)

    await drain_until_status(engine, org.id, "dead")
    got = (
        await client.get(
            f"/v1/webhook-subscriptions/{routed_subscription['id']}", headers=org.headers
        )
    ).json()
    assert got["active"] is False and "410" in got["disabled_reason"]
    await emit_many(engine, org.id, 1)
    assert len(await org_deliveries(engine, org.id)) == 1  # nothing new queued
    r = await client.get("/v1/webhook-deliveries", headers=org.headers)
    assert r.json()["data"][0]["last_status_code"] == 410


async def test_exhausted_retries_end_dead_and_redeliver_keeps_the_webhook_id(
    client: httpx.AsyncClient,
    org: Org,
    receiver: Receiver,
    engine: AsyncEngine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(delivery, "RETRY_SCHEDULE", (0.05, 0.05))
    await subscribe(client, org, receiver.url, ["lead.routed"])
    receiver.decide = lambda hit: 500
    await emit_many(engine, org.id, 1)

    await drain_until_status(engine, org.id, "dead")
    assert len(receiver.hits) == 3
    listed = (await client.get("/v1/webhook-deliveries?status=dead", headers=org.headers)).json()
    row = listed["data"][0]
    assert row["attempts"] == 3 and row["last_error"] == "HTTP 500"

    receiver.decide = lambda hit: 204
    r = await client.post(f"/v1/webhook-deliveries/{row['id']}/redeliver", headers=org.headers)
    assert r.status_code == 202 and r.json()["status"] == "pending"
    await drain_until_status(engine, org.id, "succeeded")
    assert {h.webhook_id for h in receiver.hits} == {row["webhook_id"]}
    final = (await client.get("/v1/webhook-deliveries", headers=org.headers)).json()["data"][0]
    assert final["redeliveries"] == 1 and final["attempts"] == 1


async def test_throttled_answer_honours_retry_after(
    org: Org,
    receiver: Receiver,
    engine: AsyncEngine,
    routed_subscription: dict[str, Any],
) -> None:
    receiver.decide = lambda hit: (429, {"retry-after": "120"})
    await emit_many(engine, org.id, 1)

    await drain_until_status(engine, org.id, "retrying")
    (row,) = await org_deliveries(engine, org.id)
    assert row.next_attempt_at is not None and row.last_attempt_at is not None
    wait = (row.next_attempt_at - row.last_attempt_at).total_seconds()
    assert 119 <= wait <= 121


async def test_loopback_target_is_refused_at_delivery_time_when_not_allowed(
    org: Org,
    receiver: Receiver,
    engine: AsyncEngine,
    monkeypatch: pytest.MonkeyPatch,
    routed_subscription: dict[str, Any],
) -> None:
    strict = make_settings(allow_private_webhook_targets=False)
    monkeypatch.setattr(delivery, "_settings", lambda: strict)
    await emit_many(engine, org.id, 1)

    async def attempted() -> bool:
        return [d.attempts for d in await org_deliveries(engine, org.id)] == [1]

    await drain(engine, attempted)
    (row,) = await org_deliveries(engine, org.id)
    # Refused for good at once, with its reason: retrying would be refused the same way.
    assert row.status == "dead" and (row.last_error or "").startswith("target refused")
    assert row.next_attempt_at is None
    assert receiver.hits == []
    async with AsyncSession(engine) as s:
        sub = (
            await s.execute(
                select(WebhookSubscription).where(WebhookSubscription.organization_id == org.id)
            )
        ).scalar_one()
        assert sub.active
