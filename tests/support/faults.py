"""What the fault tests and `bench/faults.py` drive a real service with: intake load whose
every answer is kept, a webhook receiver that can be taken away and brought back, and
checks straight on the database.

Standard Webhooks signatures are checked here with HMAC written out, not with the
service's own code.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx

from tests.support.http import read_request


def lead_body(run: str, i: int) -> dict[str, Any]:
    """A lead of its own person (unique email), so that none is a resubmission of another."""
    return {
        "first_name": "Fault",
        "last_name": f"Test{i}",
        "email": f"fault.{run}.{i}@example.org",
        "postal_code": "60614",
        "service": {"text": "knee pain"},
        "consent": {"checked": True, "channels": ["email"],
                    "disclosure_text": "I agree to be contacted about my care by email."},
    }  # fmt: skip


@dataclass
class Sent:
    key: str
    body: dict[str, Any]
    at: float = 0.0  # sent
    done: float = 0.0  # answered (or failed)
    status: int | None = None  # None: no answer (connection refused, reset, timed out)
    error: str = ""
    lead_id: str | None = None
    retry_after: str | None = None
    problem_type: str | None = None
    content_type: str = ""


@dataclass
class Load:
    """16 keep-alive clients posting leads, each request with its own Idempotency-Key, one
    after another on each client."""

    base: str
    headers: dict[str, str]
    run: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    clients: int = 16
    # Wait as long as a 503's Retry-After says before the next request; else a flood.
    honour_retry_after: bool = False
    sent: list[Sent] = field(default_factory=list)
    _count: int = 0

    async def _post(self, client: httpx.AsyncClient, item: Sent) -> None:
        item.at = time.monotonic()
        try:
            r = await client.post(
                "/v1/leads", json=item.body, headers={"Idempotency-Key": item.key}
            )
        except httpx.HTTPError as exc:
            item.status, item.error = None, type(exc).__name__
            item.done = time.monotonic()
            return
        item.done = time.monotonic()
        item.status, item.content_type = r.status_code, r.headers.get("content-type", "")
        item.retry_after = r.headers.get("retry-after")
        if r.is_success:
            item.lead_id = r.json()["lead_id"]
        elif "json" in item.content_type:
            item.problem_type = str(r.json().get("type", "")).rsplit("/", 1)[-1]

    def _next(self) -> Sent:
        self._count += 1
        item = Sent(f"{self.run}-{self._count}", lead_body(self.run, self._count))
        self.sent.append(item)
        return item

    async def run_until(self, stop: asyncio.Event, pause: float = 0.0) -> None:
        limits = httpx.Limits(max_connections=self.clients)
        async with httpx.AsyncClient(
            base_url=self.base, headers=self.headers, timeout=15, limits=limits
        ) as client:

            async def one() -> None:
                while not stop.is_set():
                    last = self._next()
                    await self._post(client, last)
                    if pause:
                        await asyncio.sleep(pause)
                    elif last.status == 503 and self.honour_retry_after and last.retry_after:
                        await asyncio.sleep(float(last.retry_after))
                    elif last.status in (None, 503):
                        await asyncio.sleep(0.01)  # not a busy loop while refused

            await asyncio.gather(*(one() for _ in range(self.clients)))

    async def retry_unanswered(self, rounds: int = 5) -> list[Sent]:
        """Send every request that got no 2xx again, same key and body, as a client that
        honours Retry-After would; the retries' answers (all of them kept in `sent`)."""
        retried: list[Sent] = []
        async with httpx.AsyncClient(base_url=self.base, headers=self.headers, timeout=15) as c:
            for _ in range(rounds):
                keys = {s.key for s in self.sent if s.lead_id}
                todo = {s.key: s for s in self.sent if s.key not in keys}
                if not todo:
                    break
                retried += await self._again(c, list(todo.values()))
        return retried

    async def replay(self, items: list[Sent]) -> list[Sent]:
        """The same requests once more (same keys and bodies)."""
        async with httpx.AsyncClient(base_url=self.base, headers=self.headers, timeout=15) as c:
            return await self._again(c, items)

    async def _again(self, client: httpx.AsyncClient, items: list[Sent]) -> list[Sent]:
        again = [Sent(s.key, s.body) for s in items]
        slots = asyncio.Semaphore(self.clients)

        async def one(item: Sent) -> None:
            async with slots:
                await self._post(client, item)

        await asyncio.gather(*(one(s) for s in again))
        self.sent += again
        return again

    def acknowledged(self) -> dict[str, str]:
        """Idempotency-Key → lead id, for every key answered 2xx; AssertionError if one key
        was answered with two lead ids."""
        out: dict[str, str] = {}
        for s in self.sent:
            if s.lead_id is not None:
                assert out.setdefault(s.key, s.lead_id) == s.lead_id, s.key
        return out

    def statuses(self) -> Counter[int | None]:
        return Counter(s.status for s in self.sent)


def standard_signature_ok(secret: str, headers: dict[str, str], body: bytes) -> bool:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    given = [s.split(",", 1)[1] for s in headers.get("webhook-signature", "").split() if "," in s]
    return any(hmac.compare_digest(expected, g) for g in given)


@dataclass
class Hook:
    webhook_id: str
    at: float
    signature_ok: bool
    event: dict[str, Any]


class WebhookReceiver:
    """A real HTTP server on 127.0.0.1 answering 204 (after `delay`), that can be taken
    away (its port refuses connections) and brought back on the same port."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.secret = ""
        self.hooks: list[Hook] = []
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    async def start(self) -> WebhookReceiver:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        """Gone: listening socket and open connections closed."""
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.close()
        await self._server.wait_closed()
        self._server = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            while True:
                headers, body = await read_request(reader)
                if self.delay:
                    await asyncio.sleep(self.delay)
                ok = standard_signature_ok(self.secret, headers, body)
                self.hooks.append(
                    Hook(headers.get("webhook-id", ""), time.monotonic(), ok, json.loads(body))
                )
                writer.write(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()

    def lead_ids(self) -> Counter[str]:
        """How many times each lead's `lead.received` arrived."""
        return Counter(
            str(h.event["data"]["lead_id"])
            for h in self.hooks
            if h.event["type"] == "lead.received"
        )

    async def subscribe(self, base: str, headers: dict[str, str]) -> str:
        async with httpx.AsyncClient(base_url=base, headers=headers) as client:
            r = await client.post(
                "/v1/webhook-subscriptions",
                json={"url": self.url, "event_types": ["lead.received"]},
            )
        assert r.status_code == 201, r.text
        self.secret = r.json()["secret"]
        return str(r.json()["id"])


async def _column(database_url: str, sql: str) -> set[str]:
    conn = await asyncpg.connect(database_url.replace("postgresql+asyncpg", "postgresql", 1))
    try:
        return {r[0] for r in await conn.fetch(sql)}
    finally:
        await conn.close()


async def stored_leads(database_url: str, lead_ids: set[str] | None = None) -> set[str]:
    """Every lead id in the database (or those among `lead_ids`)."""
    found = await _column(database_url, "SELECT id::text FROM leads")
    return found if lead_ids is None else found & lead_ids


async def running_jobs(database_url: str) -> set[str]:
    """Ids of the jobs a worker holds (their lease may have lapsed)."""
    return await _column(database_url, "SELECT id::text FROM jobs WHERE status = 'running'")


async def wait_until(predicate: Any, limit: float, step: float = 0.05) -> float | None:
    """Seconds until `predicate()` held, or None if it did not within `limit`."""
    start = time.monotonic()
    while time.monotonic() - start < limit:
        if predicate():
            return time.monotonic() - start
        await asyncio.sleep(step)
    return time.monotonic() - start if predicate() else None
