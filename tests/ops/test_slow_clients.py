"""Slow and abusive clients against a real `lead-router serve`: a few hundred connections
dribbling their headers do not keep other clients out, and are cut at the head deadline."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import Org
from tests.support.service import Service, service_env

SLOW = 300
HEAD_TIMEOUT = 6.0


@pytest.fixture(scope="module")
def served(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    tmp_path = tmp_path_factory.mktemp("slow-clients")
    env = service_env(
        database_url,
        tmp_path / "data",
        http_header_timeout_seconds=str(HEAD_TIMEOUT),
        http_body_timeout_seconds=str(HEAD_TIMEOUT),
        http_max_header_bytes="8192",
        log_level="WARNING",
        # The test process's secrets: its committed organisations' keys work here.
        environment="test",
        secret_key="change-me",
        encryption_keys="change-me",
    )
    service = Service(env, tmp_path / "serve.log", "serve", "--no-worker", "--no-migrate")
    service.start().wait_ready()
    try:
        yield service
    finally:
        service.stop()


async def _dribble(port: int, closed_at: list[float]) -> bytes:
    """A slowloris: a request line, then one header byte every 0.2 s, never finishing.
    What the server said before it closed the connection."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
    said = b""
    try:
        for _ in range(200):
            await writer.drain()
            try:
                said += await asyncio.wait_for(reader.read(1024), 0.2)
            except TimeoutError:
                writer.write(b"a")
                continue
            if reader.at_eof():
                break
    except ConnectionError:
        pass
    finally:
        closed_at.append(time.monotonic())
        writer.close()
    return said


async def test_slow_headers_do_not_starve_other_clients(served: Service) -> None:
    closed_at: list[float] = []
    started = time.monotonic()
    slow = [asyncio.create_task(_dribble(served.port, closed_at)) for _ in range(SLOW)]
    await asyncio.sleep(0.5)  # every slow connection is open and dribbling
    async with httpx.AsyncClient(base_url=served.base, timeout=5) as client:
        answers = [(await client.get("/healthz")).status_code for _ in range(5)]
    served_at = time.monotonic()
    said = await asyncio.gather(*slow)
    assert answers == [200] * 5
    assert served_at < min(closed_at)  # answered while all the slow ones were still open
    # Each slow connection was told 408 and closed at the head deadline, not held for ever
    # (200 dribbles of 0.2 s would take 40 s).
    assert all(s.startswith(b"HTTP/1.1 408") for s in said), {s[:20] for s in said}
    assert max(closed_at) - started < HEAD_TIMEOUT + 10


async def test_stalled_body_and_huge_head_are_cut(served: Service) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", served.port)
    # A JSON body is read before anything else about the request is looked at.
    head = b"POST /v1/api-keys HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    writer.write(head + b"Content-Length: 100\r\n\r\n{")
    await writer.drain()
    # The connection ends (no answer can follow a half-read body), well before the test's
    # own limit: the server cut it at its body deadline.
    assert await asyncio.wait_for(reader.read(), HEAD_TIMEOUT + 10) == b""
    writer.close()

    reader, writer = await asyncio.open_connection("127.0.0.1", served.port)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 10_000 + b"\r\n\r\n")
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), 10)
    assert answer.startswith(b"HTTP/1.1 431")
    writer.close()
    assert "Traceback" not in served.log()


async def test_slow_bodies_do_not_hold_the_intake_slots(served: Service, org: Org) -> None:
    """Twice as many senders as a process has intake slots stall in their leads' bodies; a
    lead sent meanwhile is taken at once, not when their body deadline frees the slots."""
    auth = f"Authorization: Bearer {org.admin_key}\r\n".encode()
    head = b"POST /v1/leads HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    cut_at: list[float] = []

    async def stall() -> bytes:
        reader, writer = await asyncio.open_connection("127.0.0.1", served.port)
        writer.write(head + auth + b"Content-Length: 500\r\n\r\n{")
        await writer.drain()
        said = await asyncio.wait_for(reader.read(), HEAD_TIMEOUT + 10)
        cut_at.append(time.monotonic())
        writer.close()
        return said

    stalled = [asyncio.create_task(stall()) for _ in range(8)]
    await asyncio.sleep(0.5)
    lead = {"first_name": "Ana", "email": f"{uuid.uuid4().hex}@example.org"}
    async with httpx.AsyncClient(base_url=served.base, timeout=10) as client:
        r = await client.post("/v1/leads", json=lead, headers=org.headers)
    answered_at = time.monotonic()
    assert r.status_code == 201, r.text
    assert await asyncio.gather(*stalled) == [b""] * 8  # cut at the body deadline
    assert answered_at < min(cut_at)
