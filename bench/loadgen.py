"""A small HTTP/1.1 load generator: N keep-alive connections replaying pre-built requests.

Runs in its own process (multiprocessing) so the server's CPU is not shared with it more
than it must be; raw asyncio streams rather than an HTTP client library keep its own cost low.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field


@dataclass
class Result:
    latencies_ms: list[float]
    statuses: dict[int, int]
    elapsed_s: float
    rate_schedule: list[float] | None = None  # send times, for open-loop runs
    # CPU seconds the server and PostgreSQL spent during the run, filled in by the caller.
    cpu_s: dict[str, float] = field(default_factory=dict)


def build_request(method: str, path: str, host: str, headers: dict[str, str], body: bytes) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:].strip())
    return status, (await reader.readexactly(length) if length else b"")


class Pool:
    """Keep-alive connections for an open-loop sender: a request takes the idle connection
    used last, or opens one, so requests overlap as much as the server makes them wait."""

    # Under the server's keep-alive timeout (uvicorn's is 5 s): a connection idle for longer
    # may be closed under the next request, and a POST cannot safely be sent again.
    IDLE_SECONDS = 2.0

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter, float]] = []

    async def _take(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        while self.idle:
            reader, writer, since = self.idle.pop()
            if time.monotonic() - since < self.IDLE_SECONDS:
                return reader, writer
            writer.close()
        return await asyncio.open_connection(self.host, self.port)

    async def send(self, request: bytes) -> tuple[int, bytes]:
        """The response's status and body; status 0 if the connection failed."""
        reader, writer = await self._take()
        try:
            writer.write(request)
            answer = await read_response(reader)
        except (ConnectionError, asyncio.IncompleteReadError):
            writer.close()
            return 0, b""
        self.idle.append((reader, writer, time.monotonic()))
        return answer

    def close(self) -> None:
        for _, writer, _ in self.idle:
            writer.close()
        self.idle.clear()


async def _run(
    host: str, port: int, requests: list[bytes], connections: int, duration: float
) -> Result:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    next_index = 0
    deadline = time.perf_counter() + duration

    async def worker() -> None:
        nonlocal next_index
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while time.perf_counter() < deadline and next_index < len(requests):
                req = requests[next_index]
                next_index += 1
                started = time.perf_counter()
                try:
                    writer.write(req)
                    status, _ = await read_response(reader)
                except (ConnectionError, asyncio.IncompleteReadError):
                    # The server closed the connection (e.g. after a 500): count, reconnect.
                    status = 0
                    writer.close()
                    reader, writer = await asyncio.open_connection(host, port)
                latencies.append((time.perf_counter() - started) * 1000)
                statuses[status] = statuses.get(status, 0) + 1
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(connections)))
    return Result(latencies, statuses, time.perf_counter() - started)


def run(host: str, port: int, requests: list[bytes], connections: int, duration: float) -> Result:
    return asyncio.run(_run(host, port, requests, connections, duration))


async def send_paced(
    requests: list[bytes], rate: float, send: Callable[[bytes, float], Awaitable[None]]
) -> float:
    """Open loop: request i goes to `send` with its due time, start + i / rate, whether or
    not earlier ones have been answered; the seconds from the first send to the last answer."""
    start = time.perf_counter()
    tasks = []
    for i, request in enumerate(requests):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(send(request, due)))
    await asyncio.gather(*tasks)
    return time.perf_counter() - start


async def _run_open(
    host: str, port: int, requests: list[bytes], rate: float, duration: float
) -> Result:
    """Open loop (`send_paced`): a request's latency runs from its due time, so a server that
    falls behind shows it in the latency a sender sees rather than in a slower sending rate."""
    pool = Pool(host, port)
    latencies: list[float] = []
    statuses: dict[int, int] = {}

    async def send(request: bytes, due: float) -> None:
        status, _ = await pool.send(request)
        latencies.append((time.perf_counter() - due) * 1000)
        statuses[status] = statuses.get(status, 0) + 1

    count = min(len(requests), int(rate * duration))
    elapsed = await send_paced(requests[:count], rate, send)
    pool.close()
    return Result(latencies, statuses, elapsed)


def run_open(host: str, port: int, requests: list[bytes], rate: float, duration: float) -> Result:
    return asyncio.run(_run_open(host, port, requests, rate, duration))


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)
