"""A webhook receiver on 127.0.0.1 and helpers to run the real worker against it."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app import worker
from app.config import Settings
from app.handoff import delivery
from app.outbox import service as outbox
from app.outbox.models import WebhookDelivery
from tests.conftest import Org
from tests.conftest import make_settings as make_settings
from tests.support.http import read_request

FAST_SCHEDULE = (0.3, 0.5, 0.8, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0)


@dataclass
class Hit:
    headers: dict[str, str]
    body: bytes
    at: float
    status: int

    @property
    def webhook_id(self) -> str:
        return self.headers.get("webhook-id", "")


@dataclass
class Receiver:
    """Answers each POST with `decide(hit)`; records concurrency per `webhook-id`."""

    decide: Callable[[Hit], int | tuple[int, dict[str, str]]] = lambda hit: 200
    delay: float = 0.0
    hits: list[Hit] = field(default_factory=list)
    in_flight: Counter[str] = field(default_factory=Counter)
    overlaps: list[str] = field(default_factory=list)
    max_in_flight: int = 0
    port: int = 0
    # Answer on one connection for as long as the client keeps it (else one per request).
    keep_alive: bool = False
    connections: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def ok(self) -> list[Hit]:
        return [h for h in self.hits if 200 <= h.status < 300]

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while await self._one(reader, writer) and self.keep_alive:
                pass
        finally:
            writer.close()

    async def _one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Answers one request; False when the client closed the connection instead."""
        try:
            headers, body = await read_request(reader)
        except asyncio.IncompleteReadError:
            return False
        hit = Hit(headers, body, time.monotonic(), 0)
        wid = hit.webhook_id
        if self.in_flight[wid]:
            self.overlaps.append(wid)
        self.in_flight[wid] += 1
        self.max_in_flight = max(self.max_in_flight, sum(self.in_flight.values()))
        try:
            if self.delay:
                await asyncio.sleep(self.delay)
            decided = self.decide(hit)
        finally:
            self.in_flight[wid] -= 1
        status, extra = decided if isinstance(decided, tuple) else (decided, {})
        hit.status = status
        self.hits.append(hit)
        more = "".join(f"{k}: {v}\r\n" for k, v in extra.items())
        close = "" if self.keep_alive else "connection: close\r\n"
        head_out = f"HTTP/1.1 {status} X\r\ncontent-length: 0\r\n{close}"
        writer.write(f"{head_out}{more}\r\n".encode())
        await writer.drain()
        return True


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    rec = Receiver()
    server = await asyncio.start_server(rec.handle, "127.0.0.1", 0)
    rec.port = server.sockets[0].getsockname()[1]
    try:
        yield rec
    finally:
        server.close()
        await server.wait_closed()


@pytest.fixture
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """The worker's settings allow loopback targets, and retries come in seconds, not hours."""
    cfg = make_settings(outbound_timeout_seconds=2.0)
    monkeypatch.setattr(delivery, "_settings", lambda: cfg)
    monkeypatch.setattr(delivery, "RETRY_SCHEDULE", FAST_SCHEDULE)
    yield cfg


@pytest.fixture
async def routed_subscription(
    client: httpx.AsyncClient,
    org: Org,
    receiver: Receiver,
) -> dict[str, Any]:
    """The organisation subscribed to `lead.routed` at the test's receiver."""
    return await subscribe(client, org, receiver.url, ["lead.routed"])


async def subscribe(
    client: httpx.AsyncClient, org: Org, url: str, events: list[str] | None = None
) -> dict[str, Any]:
    r = await client.post(
        "/v1/webhook-subscriptions",
        json={"url": url, "event_types": events or ["lead.received", "lead.routed"]},
        headers=org.headers,
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


async def wait_for(predicate: Callable[[], bool], timeout: float, step: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(step)
    return predicate()


async def org_deliveries(engine: AsyncEngine, org_id: uuid.UUID) -> list[WebhookDelivery]:
    async with AsyncSession(engine) as s:
        stmt = select(WebhookDelivery).where(WebhookDelivery.organization_id == org_id)
        return list((await s.execute(stmt)).scalars())


async def emit_many(engine: AsyncEngine, org_id: uuid.UUID, count: int) -> None:
    async with AsyncSession(engine) as s, s.begin():
        for _ in range(count):
            await outbox.emit(s, org_id, "lead.routed", {"team_id": None})


async def drain(
    engine: AsyncEngine, done: Callable[[], Awaitable[bool]], timeout: float = 10.0
) -> None:
    sm = async_sessionmaker(engine, expire_on_commit=False)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await done():
            return
        if not await worker.run_once(sm):
            await asyncio.sleep(0.05)
    raise AssertionError("timed out draining the queue")


async def drain_until_status(engine: AsyncEngine, org_id: uuid.UUID, status: str) -> None:
    """Run the worker until the organisation's one delivery has `status`."""

    async def reached() -> bool:
        return [d.status for d in await org_deliveries(engine, org_id)] == [status]

    await drain(engine, reached)
