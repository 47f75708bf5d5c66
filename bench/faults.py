"""Faults done for real, timed: the database stopped under load, the server killed with
SIGKILL under load, a webhook receiver taken away. The longer, measured versions of
`tests/ops/test_faults.py`, which checks what happens; this says how soon.

    python bench/faults.py [--outage 10] [--away 10]

Starts a PostgreSQL cluster of its own (the embedded server's binaries, a port of its own) and
`lead-router serve` on it as an operator runs it (production settings, the worker in-process,
a 5 s poll), drives it with 16 clients posting leads with Idempotency-Keys, subscribes a
receiver on 127.0.0.1 to `lead.received`, and for each fault reports what was refused, lost
or doubled and how many seconds recovery took. Writes bench/results/faults.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_intake import machine
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

RESULTS = Path(__file__).resolve().parent / "results" / "faults.json"
LIMIT = 120.0  # seconds to wait for a recovery before calling it failed


def _seconds(took: float | None) -> float | None:
    """Rounded, or None: it did not happen within LIMIT."""
    return None if took is None else round(took, 2)


async def _load_during(load: Load, seconds: float) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(load.run_until(stop))
    await asyncio.sleep(seconds)
    stop.set()
    await task


async def database_outage(
    service: Service, cluster: PgCluster, headers: dict[str, str], rec: WebhookReceiver,
    outage: float,
) -> dict[str, Any]:  # fmt: skip
    before = await stored_leads(cluster.url)
    load = Load(service.base, headers, honour_retry_after=True)
    stop = asyncio.Event()
    running = asyncio.create_task(load.run_until(stop))
    await asyncio.sleep(3.0)
    await asyncio.to_thread(cluster.stop, "fast")
    await asyncio.sleep(outage)
    log_start = len(service.log().splitlines())
    await asyncio.to_thread(cluster.start)
    back = time.monotonic()
    first_2xx = await wait_until(lambda: any(s.lead_id and s.at >= back for s in load.sent), LIMIT)
    listening = await wait_until(
        lambda: any(
            '"reconnected": true' in line for line in service.log().splitlines()[log_start:]
        ),
        LIMIT,
    )
    await asyncio.sleep(2.0)
    stop.set()
    await running
    await load.retry_unanswered()
    acked = set(load.acknowledged().values())
    made = await stored_leads(cluster.url) - before
    delivered = await wait_until(lambda: set(rec.lead_ids()) >= acked, LIMIT)
    delivered_at = time.monotonic()
    # A lead sent now: the worker, listening again, is woken by its NOTIFY.
    async with httpx.AsyncClient(base_url=service.base, headers=headers) as client:
        r = await client.post("/v1/leads", json=lead_body(uuid.uuid4().hex, 0))
        answered = time.monotonic()
    lead_id = r.json()["lead_id"]
    await wait_until(lambda: lead_id in rec.lead_ids(), LIMIT)
    arrived = next(h.at for h in rec.hooks if h.event["data"]["lead_id"] == lead_id)
    statuses = Counter(s.status for s in load.sent)
    return {
        "outage_s": outage,
        "requests": len(load.sent),
        "statuses": {str(k): v for k, v in statuses.items()},
        "leads_acknowledged": len(acked),
        "leads_lost": len(acked - made),
        "leads_not_acknowledged_but_stored": len(made - acked),
        "first_2xx_after_database_back_s": _seconds(first_2xx),
        "worker_listening_again_after_database_back_s": _seconds(listening),
        # From the database's return, the retried requests' leads included.
        "every_event_delivered_after_database_back_s": None
        if delivered is None
        else round(delivered_at - back, 2),
        "new_lead_event_after_answer_ms": round((arrived - answered) * 1000, 1),
    }


async def kill_9(
    service: Service, cluster: PgCluster, headers: dict[str, str], rec: WebhookReceiver
) -> dict[str, Any]:
    before = await stored_leads(cluster.url)
    rec.delay = 0.5  # deliveries are in flight when the server dies
    load = Load(service.base, headers)
    stop = asyncio.Event()
    running = asyncio.create_task(load.run_until(stop))
    await asyncio.sleep(3.0)
    await asyncio.to_thread(service.kill)
    killed = time.monotonic()
    await asyncio.sleep(0.5)
    stop.set()
    await running
    in_flight = len(await running_jobs(cluster.url))
    rec.delay = 0.0
    service.start()
    ready = await asyncio.to_thread(service.wait_ready)
    restarted = time.monotonic()
    await load.retry_unanswered()
    acked = set(load.acknowledged().values())
    made = await stored_leads(cluster.url) - before
    delivered = await wait_until(lambda: set(rec.lead_ids()) >= acked, LIMIT)
    return {
        "requests": len(load.sent),
        "no_answer_at_the_kill": sum(1 for s in load.sent if s.status is None),
        "deliveries_in_flight_at_the_kill": in_flight,
        "leads_acknowledged": len(acked),
        "leads_lost": len(acked - made),
        "leads_doubled": len(made - acked),
        "serving_again_after_start_s": round(ready, 2),
        "every_event_delivered_after_kill_s": None
        if delivered is None
        else round(restarted - killed + delivered, 2),
        "events_received_twice": sum(1 for n in rec.lead_ids().values() if n > 1),
    }


async def receiver_away(
    service: Service, headers: dict[str, str], rec: WebhookReceiver, away: float
) -> dict[str, Any]:
    seen = len(rec.hooks)
    await rec.stop()
    load = Load(service.base, headers, clients=4)
    stop = asyncio.Event()
    running = asyncio.create_task(load.run_until(stop, pause=0.1))
    await asyncio.sleep(away)
    stop.set()
    await running
    acked = set(load.acknowledged().values())
    await rec.start()  # back, on the same port
    async with httpx.AsyncClient(base_url=service.base, headers=headers) as client:
        subs = (await client.get("/v1/webhook-subscriptions")).json()["data"]
        sub = next(s["id"] for s in subs if s["url"] == rec.url)
        r = await client.post(f"/v1/webhook-subscriptions/{sub}/retry-now")
    delivered = await wait_until(lambda: set(rec.lead_ids()) >= acked, LIMIT)
    await asyncio.sleep(6.0)  # past the first scheduled retry
    ids = Counter(h.webhook_id for h in rec.hooks[seen:])
    return {
        "away_s": away,
        "leads_while_away": len(acked),
        "retry_now_scheduled": r.json().get("scheduled"),
        "every_event_delivered_after_back_s": _seconds(delivered),
        "events_received_twice": sum(1 for n in ids.values() if n > 1),
        "bad_signatures": sum(1 for h in rec.hooks if not h.signature_ok),
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    cluster = PgCluster().init()
    cluster.start()
    tmp = Path(tempfile.mkdtemp(prefix="lead-router-faults-"))
    try:
        env = service_env(cluster.url, tmp / "data", worker_poll_seconds="5")
        headers = {"Authorization": f"Bearer {create_org(env)}"}
        service = Service(env, tmp / "serve.log").start()
        service.wait_ready()
        rec = await WebhookReceiver().start()
        await rec.subscribe(service.base, headers)
        try:
            await _load_during(Load(service.base, headers), 3.0)  # warm-up
            results = {
                "database_outage": await database_outage(
                    service, cluster, headers, rec, args.outage
                ),
                "kill_9": await kill_9(service, cluster, headers, rec),
                "receiver_away": await receiver_away(service, headers, rec, args.away),
            }
        finally:
            service.stop()
    finally:
        cluster.destroy()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--outage", type=float, default=10.0, help="database stopped, s")
    parser.add_argument("--away", type=float, default=10.0, help="receiver away, s")
    args = parser.parse_args()
    results = asyncio.run(run(args))
    when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    out = {"when": when, "machine": machine(), "results": results}
    RESULTS.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
