"""Handoff latency: from the intake response to receipt by a local webhook receiver.

    python bench/bench_handoff.py [--rate 100] [--duration 20]

Runs `lead-router serve` (one worker per core, the outbox worker in-process, INFO logs) on
PostgreSQL, subscribes a receiver on 127.0.0.1 to `lead.received` and `lead.routed`, sends
canonical leads open-loop at `--rate` per second, and measures, per lead, the time from the
moment its intake response arrived to the moment its first event arrived at the receiver
(signature verified). The first three seconds at that rate are a warm-up, not measured: each
process's first leads open its connections and fill its caches. Prints a table and writes
bench/results/handoff-<rate>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

import asyncpg
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.signatures import SignatureError, verify_standard_webhook
from bench.bench_intake import (
    RESULTS,
    ROOT,
    analyze,
    cpu_seconds,
    database,
    drop_database,
    env_for,
    free_port,
    machine,
    people,
    seed_demo,
    start_server,
)
from bench.loadgen import Pool, build_request, percentile, send_paced
from tests.support.http import read_request


class Receiver:
    """A minimal HTTP/1.1 server: records arrival times of events by lead id."""

    def __init__(self, secret_holder: dict[str, str]) -> None:
        self.arrivals: dict[str, float] = {}
        self.bad_signatures = 0
        self.secret = secret_holder

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                headers, body = await read_request(reader)
                arrived = time.perf_counter()
                try:
                    verify_standard_webhook(body, headers, [self.secret["value"]], _now())
                    lead_id = json.loads(body)["data"]["lead_id"]
                    self.arrivals.setdefault(lead_id, arrived)
                except (SignatureError, KeyError, ValueError):
                    self.bad_signatures += 1
                writer.write(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()
        except asyncio.CancelledError:
            # The server shutting down at the end of a run, with the worker's keep-alive
            # connections still open. Ended normally: Python 3.11's stream callback logs a
            # traceback for every handler task that ends cancelled.
            writer.close()


def _now() -> Any:
    import datetime as dt

    return dt.datetime.now(dt.UTC)


WARM_UP_SECONDS = 3


async def commits(url: str) -> int:
    """Transactions committed in the benchmark's database so far."""
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://", 1))
    try:
        return int(
            await conn.fetchval(
                "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"
            )
        )
    finally:
        await conn.close()


async def subscribe(port: int, key: str, receiver_port: int) -> str:
    """The receiver subscribed to both lead events; returns the subscription's secret."""
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=30
    ) as client:
        sub = await client.post(
            "/v1/webhook-subscriptions",
            json={
                "url": f"http://127.0.0.1:{receiver_port}/hooks",
                "event_types": ["lead.received", "lead.routed"],
            },
        )
    assert sub.status_code == 201, sub.text
    return str(sub.json()["secret"])


async def run(
    args: argparse.Namespace, port: int, key: str, server_pid: int, url: str
) -> dict[str, Any]:
    secret: dict[str, str] = {}
    receiver = Receiver(secret)
    server = await asyncio.start_server(receiver.handle, "127.0.0.1", 0)
    secret["value"] = await subscribe(port, key, server.sockets[0].getsockname()[1])
    total = int(args.rate * args.duration)
    warm = int(args.rate * WARM_UP_SECONDS)
    # Pre-built requests on raw keep-alive connections: an HTTP client library cost this
    # process up to 11 ms of CPU a lead once the server fell behind, CPU the server lacked.
    sending = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    requests = [
        build_request("POST", "/v1/leads", f"127.0.0.1:{port}", sending, json.dumps(p).encode())
        for p in people(warm + total, int(time.time()))
    ]
    pool = Pool("127.0.0.1", port)
    answered: dict[str, float] = {}
    statuses: dict[int, int] = {}

    async def send(request: bytes, due: float) -> None:
        status, body = await pool.send(request)
        statuses[status] = statuses.get(status, 0) + 1
        if status in (200, 201):
            answered[json.loads(body)["lead_id"]] = time.perf_counter()

    async def paced(batch: list[bytes]) -> float:
        sent_for = await send_paced(batch, args.rate, send)
        deadline = time.perf_counter() + 15
        while time.perf_counter() < deadline and not set(answered) <= set(receiver.arrivals):
            await asyncio.sleep(0.1)
        pool.close()
        return sent_for

    # Not measured: each process's first leads open its connections and fill its caches.
    await paced(requests[:warm])
    await analyze(url)
    answered.clear()
    statuses.clear()
    committed = await commits(url)
    before, mine = cpu_seconds(server_pid), time.process_time()
    sent_for = await paced(requests[warm:])
    after, mine = cpu_seconds(server_pid), time.process_time() - mine
    # Statistics reach pg_stat_database when a backend goes idle, so this may lag a little.
    committed = await commits(url) - committed
    server.close()
    # Per lead, from its intake to its events' delivery; "bench" is this process: the sender
    # and the receiver, which share the machine with the rest.
    cpu = {k: (after[k] - before[k]) * 1000 / total for k in after} | {"bench": mine * 1000 / total}
    lat = [(receiver.arrivals[k] - t) * 1000 for k, t in answered.items() if k in receiver.arrivals]
    return {
        "leads_sent": total,
        "achieved_rate": round(total / sent_for, 1),
        "statuses": statuses,
        "delivered": len(lat),
        "missing": len(answered) - len(lat),
        "bad_signatures": receiver.bad_signatures,
        "p50_ms": round(percentile(lat, 0.5), 1),
        "p95_ms": round(percentile(lat, 0.95), 1),
        "p99_ms": round(percentile(lat, 0.99), 1),
        "max_ms": round(max(lat), 1) if lat else None,
        **{f"cpu_{k}_ms_per_lead": round(v, 2) for k, v in cpu.items()},
        "commits_per_lead": round(committed / total, 2),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--rate", type=float, default=100.0)
    ap.add_argument("--duration", type=float, default=20.0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--database-url")
    args = ap.parse_args()
    url, embedded = database(args)
    env = env_for(url)
    env["LEAD_ROUTER_ALLOW_PRIVATE_WEBHOOK_TARGETS"] = "true"
    key = seed_demo(env)
    port = free_port()
    RESULTS.mkdir(parents=True, exist_ok=True)
    server = start_server(env, port, args.workers, RESULTS / "server-handoff.log")
    try:
        result = asyncio.run(run(args, port, key, server.pid, url))
    finally:
        server.terminate()
        server.wait(30)
        if embedded is not None:
            embedded.cleanup()
        elif not args.database_url:
            asyncio.run(drop_database(url))
    print(
        f"\n{'rate':>6} {'sent':>6} {'delivered':>9} {'missing':>7} {'p50 ms':>8} "
        f"{'p95 ms':>8} {'p99 ms':>8} {'max ms':>8}  CPU ms/lead: server PostgreSQL bench"
        "  commits/lead"
    )
    print(
        f"{result['achieved_rate']:>6} {result['leads_sent']:>6} {result['delivered']:>9} "
        f"{result['missing']:>7} {result['p50_ms']:>8} {result['p95_ms']:>8} "
        f"{result['p99_ms']:>8} {result['max_ms']:>8}  {result['cpu_server_ms_per_lead']:>18} "
        f"{result['cpu_postgres_ms_per_lead']:>10} {result['cpu_bench_ms_per_lead']:>5}"
        f"  {result['commits_per_lead']:>12}"
    )
    out = RESULTS / f"handoff-{int(args.rate)}.json"
    out.write_text(
        json.dumps(
            {"machine": machine(), "rate": args.rate, "workers": args.workers, "result": result},
            indent=2,
        )
    )
    print(f"written {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
