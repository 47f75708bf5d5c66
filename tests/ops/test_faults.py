"""Faults done, not faked, against a real `lead-router serve` (its worker in-process) on a
PostgreSQL of the module's own: the database stopped under load, the server killed with
SIGKILL under load, a webhook receiver taken away. Short versions of `bench/faults.py`,
which runs them longer and reports the figures (BENCHMARKS.md)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from tests.support.faults import (
    Load,
    WebhookReceiver,
    lead_body,
    running_jobs,
    stored_leads,
    wait_until,
)
from tests.support.pgcluster import PgCluster
from tests.support.service import Service, create_org, service_env

OUTAGE = 4.0  # seconds; bench/faults.py stops it for 10


@pytest.fixture(scope="module")
def cluster() -> Iterator[PgCluster]:
    pg = PgCluster().init()
    pg.start()
    try:
        yield pg
    finally:
        pg.destroy()


@pytest.fixture(scope="module")
def service(cluster: PgCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    tmp = tmp_path_factory.mktemp("faults")
    env = service_env(cluster.url, tmp / "data", worker_poll_seconds="5")
    env["FAULT_TEST_ADMIN_KEY"] = create_org(env)
    served = Service(env, tmp / "serve.log").start()
    served.wait_ready()
    try:
        yield served
    finally:
        served.stop()


@pytest.fixture
def headers(service: Service) -> dict[str, str]:
    return {"Authorization": f"Bearer {service.env['FAULT_TEST_ADMIN_KEY']}"}


@pytest.fixture
async def receiver(service: Service, headers: dict[str, str]) -> AsyncIterator[WebhookReceiver]:
    """A receiver subscribed to lead.received for this test only."""
    rec = await WebhookReceiver().start()
    sub = await rec.subscribe(service.base, headers)
    try:
        yield rec
    finally:
        async with httpx.AsyncClient(base_url=service.base, headers=headers) as client:
            await client.delete(f"/v1/webhook-subscriptions/{sub}")
        with contextlib.suppress(AssertionError):
            await rec.stop()


async def _load_for(load: Load, seconds: float) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(load.run_until(stop))
    await asyncio.sleep(seconds)
    stop.set()
    await task


def _log_lines(service: Service, start: int) -> list[dict[str, object]]:
    lines = service.log().splitlines()[start:]
    return [json.loads(line) for line in lines if line.startswith("{")]


async def test_database_stopped_under_load_answers_503_and_recovers_by_itself(
    service: Service, cluster: PgCluster, headers: dict[str, str], receiver: WebhookReceiver
) -> None:
    log_start = len(service.log().splitlines())
    load = Load(service.base, headers, honour_retry_after=True)
    stop = asyncio.Event()
    running = asyncio.create_task(load.run_until(stop))
    await asyncio.sleep(1.5)
    stopping_at = time.monotonic()
    await asyncio.to_thread(cluster.stop, "fast")
    await asyncio.sleep(1.0)
    async with httpx.AsyncClient(base_url=service.base) as client:
        ready = await client.get("/readyz")
    assert ready.status_code == 503 and ready.headers["retry-after"]
    await asyncio.sleep(OUTAGE - 1.0)
    await asyncio.to_thread(cluster.start)
    back_at = time.monotonic()
    first_2xx = await wait_until(
        lambda: any(s.lead_id and s.at >= back_at for s in load.sent), limit=30
    )
    await asyncio.sleep(1.0)
    stop.set()
    await running

    statuses = load.statuses()
    assert set(statuses) <= {201, 503}, statuses  # no 500, no dropped connection
    refused = [s for s in load.sent if s.status == 503]
    assert refused and all(
        s.retry_after and s.problem_type == "database-unavailable"
        and s.content_type.startswith("application/problem+json")
        for s in refused
    )  # fmt: skip
    # Refused only while it was away (sent then, or in flight when it went).
    assert all(stopping_at - 2.0 <= s.at <= back_at + 2.0 for s in refused)
    assert first_2xx is not None  # it recovered by itself: no restart, no operator

    # Every refused lead is taken when sent again; none acknowledged is missing or doubled.
    await load.retry_unanswered()
    acked = load.acknowledged()
    assert len(acked) == len({s.key for s in load.sent})
    assert await stored_leads(cluster.url, set(acked.values())) == set(acked.values())

    # One warning per refusal, no traceback; the worker said it lost and regained LISTEN.
    lines = _log_lines(service, log_start)
    warnings = [e for e in lines if e.get("event") == "database_unavailable"]
    assert len(warnings) == len(refused)
    assert all(e["level"] == "warning" for e in warnings)
    assert "Traceback" not in service.log()
    assert await wait_until(lambda: bool(service.events("worker_resumed")), limit=10)
    assert await wait_until(
        lambda: any(e.get("reconnected") for e in _log_lines(service, log_start)), limit=10
    )

    # Every lead's webhook went out once the worker was back, and a new lead's goes out too
    # (the worker listens again, above). How soon: bench/faults.py.
    assert await wait_until(lambda: set(receiver.lead_ids()) >= set(acked.values()), limit=30)
    async with httpx.AsyncClient(base_url=service.base, headers=headers) as client:
        r = await client.post("/v1/leads", json=lead_body(uuid.uuid4().hex, 0))
    assert r.status_code == 201, r.text
    lead_id = r.json()["lead_id"]
    assert await wait_until(lambda: lead_id in receiver.lead_ids(), limit=30)
    assert all(h.signature_ok for h in receiver.hooks)


async def test_kill_9_under_load_loses_nothing_and_doubles_nothing(
    service: Service, cluster: PgCluster, headers: dict[str, str], receiver: WebhookReceiver
) -> None:
    before = await stored_leads(cluster.url)
    receiver.delay = 0.5  # deliveries are in flight when the server dies
    load = Load(service.base, headers)
    stop = asyncio.Event()
    running = asyncio.create_task(load.run_until(stop))
    await asyncio.sleep(2.0)
    await asyncio.to_thread(service.kill)
    await asyncio.sleep(0.5)
    stop.set()
    await running
    claimed = await running_jobs(cluster.url)
    assert claimed, "no delivery was in flight at the kill: the test shows nothing"

    receiver.delay = 0.0
    service.start()
    await asyncio.to_thread(service.wait_ready)
    # The client retries what got no answer, and some of what did, with the same keys.
    await load.retry_unanswered()
    answered = [s for s in load.sent if s.lead_id][:20]
    replayed = await load.replay(answered)
    assert [s.lead_id for s in replayed] == [s.lead_id for s in answered]
    acked = load.acknowledged()  # one lead id per key, however often it was sent
    assert len(acked) == len({s.key for s in load.sent})
    made = await stored_leads(cluster.url) - before
    assert made == set(acked.values())  # 0 lost, 0 duplicated

    # What the dead process had claimed goes out once its leases lapse (15 s; how soon after
    # the restart: bench/faults.py).
    took = await wait_until(lambda: set(receiver.lead_ids()) >= set(acked.values()), limit=60)
    assert took is not None
    assert all(h.signature_ok for h in receiver.hooks)


async def test_receiver_away_gets_every_event_once_when_back(
    service: Service, headers: dict[str, str], receiver: WebhookReceiver
) -> None:
    await receiver.stop()
    load = Load(service.base, headers, clients=4)
    stop = asyncio.Event()
    running = asyncio.create_task(load.run_until(stop, pause=0.1))
    await asyncio.sleep(3.0)
    stop.set()
    await running
    acked = set(load.acknowledged().values())
    assert acked and not receiver.hooks
    await asyncio.sleep(1.0)  # every first attempt has failed by now

    await receiver.start()  # back, on the same port
    async with httpx.AsyncClient(base_url=service.base, headers=headers) as client:
        subs = (await client.get("/v1/webhook-subscriptions")).json()["data"]
        sub = next(s["id"] for s in subs if s["url"] == receiver.url)
        r = await client.post(f"/v1/webhook-subscriptions/{sub}/retry-now")
    assert r.status_code == 202 and r.json()["scheduled"] >= 1
    assert await wait_until(lambda: set(receiver.lead_ids()) >= acked, limit=15)
    await asyncio.sleep(6.0)  # past the first scheduled retry: nothing is sent twice
    assert set(receiver.lead_ids()) == acked
    assert set(Counter(h.webhook_id for h in receiver.hooks).values()) == {1}
    assert all(h.signature_ok for h in receiver.hooks)
    # A receiver's URL can hold its secret: no line of the log carries it.
    assert receiver.url not in service.log()
