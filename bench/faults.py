"""Faults done for real, run longer than the suite's (tests/ops/test_faults.py), with figures.

    python bench/faults.py [--outage 10] [--away 60] [--only outage,kill,takeover,receiver]

Starts a PostgreSQL cluster of its own (the embedded server's binaries, in a temporary
directory, on 127.0.0.1:--pg-port), so that stopping it disturbs nobody, and one
`lead-router serve` process on it as an operator runs it (production settings, the worker
in-process, its default 5 s poll), with a webhook receiver on 127.0.0.1 subscribed to
`lead.received`. Then, one after the other:

1. outage: 16 keep-alive clients post leads as fast as they are answered (a refused one is
   sent again after 10 ms, not after its Retry-After: a flood); PostgreSQL is stopped
   (`pg_ctl stop -m fast`) for --outage seconds and started again. Every request that got no
   2xx is then sent again with the same key. Afterwards, leads one at a time: how long from
   the intake answer to the webhook (the worker woken by NOTIFY on its LISTEN connection,
   which had to be made again).
2. kill: the same load while the receiver takes 0.5 s per webhook (deliveries are in flight);
   `kill -9` of serve; restart; the clients send again, same keys, everything that got no
   answer and 50 that did. How long until the jobs the dead process had claimed are done.
3. takeover: a second `serve` on the same database runs while the first is killed the same
   way; the clients send again to the second. How long until it has done the jobs the dead
   process had claimed (their 15 s lease lapses, then its worker's next poll takes them).
4. receiver: the receiver is taken away (its port refuses) for --away seconds while 4
   clients post leads; it comes back, `POST /v1/webhook-subscriptions/{id}/retry-now` is
   called, and the receiver's log is checked: every lead's event, each webhook-id once,
   every signature valid (HMAC written out in tests/support/faults.py).

Per scenario: sent (requests, retries included), acknowledged (distinct keys answered 2xx),
stored (new leads in the database), lost (acknowledged, not stored), duplicated (stored
beyond one per acknowledged key), 500s, 503s, no answer, seconds to recover. Prints a table
and writes bench/results/faults.json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import asyncpg
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_intake import RESULTS, machine
from tests.support.faults import Load, WebhookReceiver, lead_body, stored_leads, wait_until
from tests.support.pgcluster import PgCluster
from tests.support.service import Service, create_org, service_env


def _dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg", "postgresql", 1)


async def _jobs_unfinished(url: str, ids: list[int]) -> int:
    conn = await asyncpg.connect(_dsn(url))
    try:
        return int(
            await conn.fetchval(
                "SELECT count(*) FROM jobs WHERE id = ANY($1::bigint[]) AND status <> 'done'", ids
            )
        )
    finally:
        await conn.close()


async def _jobs_detail(url: str, ids: list[int], since: float) -> list[dict[str, Any]]:
    """Each job's kind, status and attempts, and when it finished, in seconds after the
    wall-clock time `since`."""
    conn = await asyncpg.connect(_dsn(url))
    try:
        rows = await conn.fetch(
            "SELECT id, kind, status, attempts, extract(epoch FROM finished_at) AS finished"
            " FROM jobs WHERE id = ANY($1::bigint[]) ORDER BY id",
            ids,
        )
    finally:
        await conn.close()
    return [
        {"kind": r["kind"], "status": r["status"], "attempts": r["attempts"],
         "finished_after": _after(None if r["finished"] is None else float(r["finished"]), since)}
        for r in rows
    ]  # fmt: skip


async def _claimed_jobs(url: str, owner: str | None = None) -> list[int]:
    """The running jobs (of the worker `owner`)."""
    conn = await asyncpg.connect(_dsn(url))
    try:
        rows = await conn.fetch(
            "SELECT id FROM jobs WHERE status = 'running'"
            " AND ($1::uuid IS NULL OR locked_by = $1::uuid)",
            owner,
        )
        return [r[0] for r in rows]
    finally:
        await conn.close()


def _log_events(service: Service, start: int) -> list[dict[str, Any]]:
    out = []
    for line in service.log().splitlines()[start:]:
        if line.startswith("{"):
            with contextlib.suppress(ValueError):
                out.append(json.loads(line))
    return out


def _after(t: float | None, since: float) -> float | None:
    return None if t is None else round(t - since, 1)


def _ms(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "max": None}
    return {"p50": round(statistics.median(values) * 1000, 1), "max": round(max(values) * 1000, 1)}


class Bench:
    def __init__(self, args: argparse.Namespace, root: Path) -> None:
        self.args = args
        self.pg = PgCluster(root / "pg", port=args.pg_port)
        self.env: dict[str, str] = {}
        self.service: Service | None = None
        self.others: list[Service] = []  # stopped at the end, whatever happened
        self.headers: dict[str, str] = {}
        self.receiver = WebhookReceiver()
        self.receiver.port = args.receiver_port
        self.root = root

    @property
    def serve(self) -> Service:
        assert self.service is not None
        return self.service

    async def setup(self) -> None:
        self.pg.init()
        await asyncio.to_thread(self.pg.start)
        self.env = service_env(self.pg.url, self.root / "data")
        key = await asyncio.to_thread(create_org, self.env)
        self.headers = {"Authorization": f"Bearer {key}"}
        self.service = Service(self.env, self.root / "serve.log", port=self.args.port).start()
        await asyncio.to_thread(self.serve.wait_ready, 300)
        await self.receiver.start()

    async def teardown(self) -> None:
        for service in [self.service, *self.others]:
            if service is not None:
                service.stop()
        if self.receiver._server is not None:
            await self.receiver.stop()
            await asyncio.sleep(0.2)  # its connections' handlers see the close
        self.pg.destroy()

    async def subscribe(self) -> str:
        self.receiver.hooks = []
        return await self.receiver.subscribe(self.serve.base, self.headers)

    async def unsubscribe(self, sub: str, base: str = "") -> None:
        async with httpx.AsyncClient(base_url=base or self.serve.base, headers=self.headers) as c:
            await c.delete(f"/v1/webhook-subscriptions/{sub}")

    async def tally(self, load: Load, before: set[str]) -> dict[str, Any]:
        """What the clients were told against what the database holds."""
        answers: dict[str, set[str]] = {}
        for s in load.sent:
            if s.lead_id:
                answers.setdefault(s.key, set()).add(s.lead_id)
        acked = {i for ids in answers.values() for i in ids}
        stored = await stored_leads(self.pg.url) - before
        statuses = load.statuses()
        return {
            "sent": len(load.sent),
            "keys": len({s.key for s in load.sent}),
            "acknowledged": len(answers),
            "stored": len(stored),
            "lost": len(acked - stored),
            "duplicated": len(stored - acked) + sum(len(ids) - 1 for ids in answers.values()),
            "status_500": sum(
                n for st, n in statuses.items() if st is not None and st >= 500 and st != 503
            ),
            "status_503": statuses.get(503, 0),
            "no_answer": statuses.get(None, 0),
            "statuses": {str(k): v for k, v in sorted(statuses.items(), key=str)},
        }

    def hooks_check(self, acked_ids: set[str]) -> dict[str, Any]:
        mine = [h for h in self.receiver.hooks if str(h.event["data"]["lead_id"]) in acked_ids]
        per_id = Counter(h.webhook_id for h in mine)
        return {
            "leads_with_webhook": len({str(h.event["data"]["lead_id"]) for h in mine}),
            "webhooks_received": len(mine),
            "webhook_ids_twice": sum(1 for n in per_id.values() if n > 1),
            "bad_signatures": sum(1 for h in mine if not h.signature_ok),
        }

    # --- 1. the database stopped under load ----------------------------------------------

    async def outage(self) -> dict[str, Any]:
        sub = await self.subscribe()
        before = await stored_leads(self.pg.url)
        log_start = len(self.serve.log().splitlines())
        load = Load(self.serve.base, self.headers, clients=16)
        stop = asyncio.Event()
        running = asyncio.create_task(load.run_until(stop))
        await asyncio.sleep(3.0)
        down_at = time.monotonic()
        await asyncio.to_thread(self.pg.stop, "fast")
        stopped_at = time.monotonic()
        await asyncio.sleep(1.0)
        async with httpx.AsyncClient(base_url=self.serve.base, timeout=10) as client:
            r = await client.get("/readyz")
            readyz = {"status": r.status_code, "retry_after": r.headers.get("retry-after")}
        await asyncio.sleep(max(0.0, self.args.outage - (time.monotonic() - stopped_at)))
        await asyncio.to_thread(self.pg.start)
        back_at = time.monotonic()
        first = await wait_until(
            lambda: any(s.lead_id and s.at >= back_at for s in load.sent), limit=30
        )
        await asyncio.sleep(5.0)
        stop.set()
        await running
        during = list(load.sent)
        answered_after = [s.done - back_at for s in during if s.lead_id and s.done >= back_at]
        first_2xx = min(answered_after, default=None)
        before_down = [s.done - s.at for s in during if s.lead_id and s.done < down_at]
        retried = await load.retry_unanswered()
        out = await self.tally(load, before)
        refused = [s for s in during if s.status == 503]
        out.update(
            seconds_stopped=round(back_at - stopped_at, 2),
            stop_command_seconds=round(stopped_at - down_at, 2),
            seconds_to_first_2xx_after_return=None if first_2xx is None else round(first_2xx, 2),
            first_2xx_of_a_request_sent_after_return=None if first is None else round(first, 2),
            latency_ms_2xx_before_the_outage=_ms(before_down),
            refused_without_retry_after=sum(1 for s in refused if not s.retry_after),
            refused_not_problem_json=sum(
                1
                for s in refused
                if not s.content_type.startswith("application/problem+json")
                or s.problem_type != "database-unavailable"
            ),
            refusal_ms=_ms([s.done - s.at for s in refused]),
            retried_after=len(retried),
            readyz_while_stopped=readyz,
        )
        acked_ids = {s.lead_id for s in load.sent if s.lead_id}
        # Every lead's webhook, the backlog included, once the worker is back.
        drained = await wait_until(
            lambda: self.hooks_check(acked_ids)["leads_with_webhook"] >= len(acked_ids),
            limit=120,
        )
        out["backlog_delivered_seconds_after_return"] = (
            None if drained is None else round(time.monotonic() - back_at, 1)
        )
        out.update(self.hooks_check(acked_ids))
        out["fresh_lead_webhook_ms"] = await self.fresh_leads(self.args.fresh)
        events = _log_events(self.serve, log_start)
        names = Counter(str(e.get("event")) for e in events)
        out["log"] = {
            "tracebacks": sum(
                "Traceback" in line for line in self.serve.log().splitlines()[log_start:]
            ),
            "database_unavailable_warnings": names["database_unavailable"],
            "database_unavailable_not_warning": sum(
                1
                for e in events
                if e.get("event") == "database_unavailable" and e.get("level") != "warning"
            ),
            "summaries": names["request_failures_summary"],
            "unhandled_errors": names["unhandled_error"],
            "worker_database_unavailable": names["worker_database_unavailable"],
            "worker_resumed": [
                e.get("seconds") for e in events if e.get("event") == "worker_resumed"
            ],
            "listen_reconnected": [
                e.get("deaf_seconds")
                for e in events
                if e.get("event") == "worker_listening" and e.get("reconnected")
            ],
        }
        await self.unsubscribe(sub)
        return out

    def _arrived(self, lead_id: str) -> bool:
        return lead_id in self.receiver.lead_ids()

    async def fresh_leads(self, n: int) -> dict[str, float | None]:
        """From each intake answer to its webhook, one lead at a time."""
        took: list[float] = []
        run = uuid.uuid4().hex[:8]
        async with httpx.AsyncClient(base_url=self.serve.base, headers=self.headers) as c:
            for i in range(n):
                r = await c.post("/v1/leads", json=lead_body(run, i))
                answered = time.monotonic()
                if r.status_code != 201:
                    continue
                lead_id = r.json()["lead_id"]
                arrived = functools.partial(self._arrived, lead_id)
                if await wait_until(arrived, 10, 0.005):
                    at = next(
                        h.at for h in self.receiver.hooks
                        if h.event["data"]["lead_id"] == lead_id
                    )  # fmt: skip
                    took.append(at - answered)
                await asyncio.sleep(0.2)
        return {**_ms(took), "n": len(took), "over_500ms": sum(1 for t in took if t > 0.5)}

    # --- 2. kill -9 under load ----------------------------------------------------------

    async def kill(self) -> dict[str, Any]:
        sub = await self.subscribe()
        before = await stored_leads(self.pg.url)
        self.receiver.delay = 0.5
        load = Load(self.serve.base, self.headers, clients=16)
        stop = asyncio.Event()
        running = asyncio.create_task(load.run_until(stop))
        await asyncio.sleep(self.args.kill_after)
        await asyncio.to_thread(self.serve.kill)
        killed_at = time.monotonic()
        await asyncio.sleep(0.5)
        stop.set()
        await running
        claimed = await _claimed_jobs(self.pg.url)
        self.receiver.delay = 0.0
        start_wall = time.time()
        self.serve.start()
        await asyncio.to_thread(self.serve.wait_ready, 300)
        ready_at, ready_wall = time.monotonic(), time.time()
        retried = await load.retry_unanswered()
        answered = [s for s in load.sent if s.lead_id][:50]
        replayed = await load.replay(answered)
        out = await self.tally(load, before)
        # Claims of the dead process: taken again once their lease lapses. Timed by the
        # database's finished_at and the receiver's arrival times, not by this loop.
        await self._wait_jobs(claimed, limit=120)
        jobs = await _jobs_detail(self.pg.url, claimed, ready_wall)
        finished = [j["finished_after"] for j in jobs]
        acked_ids = {s.lead_id for s in load.sent if s.lead_id}
        await wait_until(
            lambda: self.hooks_check(acked_ids)["leads_with_webhook"] >= len(acked_ids),
            limit=180,
        )
        arrivals = [h.at for h in self.receiver.hooks if h.event["data"]["lead_id"] in acked_ids]
        out.update(
            seconds_to_ready_after_kill=round(ready_at - killed_at, 1),
            retried_unanswered=len(retried),
            replayed=len(replayed),
            replays_same_lead=sum(
                1 for a, b in zip(answered, replayed, strict=True) if a.lead_id == b.lead_id
            ),
            claimed_by_dead_process=len(claimed),
            claims_done_seconds_after_ready=None
            if not finished or None in finished
            else max(finished),
            claims_done_seconds_after_start=None
            if not finished or None in finished
            else round(max(finished) + ready_wall - start_wall, 1),
            claimed_jobs=jobs,
            all_delivered_seconds_after_ready=_after(max(arrivals, default=None), ready_at),
        )
        out.update(self.hooks_check(acked_ids))
        await self.unsubscribe(sub)
        return out

    async def _wait_jobs(self, ids: list[int], limit: float) -> float | None:
        """The monotonic time at which none of `ids` was left undone, or None."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if await _jobs_unfinished(self.pg.url, ids) == 0:
                return time.monotonic()
            await asyncio.sleep(0.25)
        return None

    # --- 3. kill -9 of one of two processes: the other takes over its claims -----------

    async def takeover(self) -> dict[str, Any]:
        """How soon a dead process's claims are taken by a live worker, without waiting for
        its restart: a second `serve` on the same database runs while the first is killed
        under load; the clients then send their unanswered requests to the second."""
        sub = await self.subscribe()
        before = await stored_leads(self.pg.url)
        replica = Service(self.env, self.root / "replica.log", port=self.args.replica_port)
        self.others.append(replica.start())
        await asyncio.to_thread(replica.wait_ready, 300)
        started = [e for e in _log_events(self.serve, 0) if e.get("event") == "worker_started"]
        owner = str(started[-1]["worker"])
        self.receiver.delay = 0.5
        load = Load(self.serve.base, self.headers, clients=16)
        stop = asyncio.Event()
        running = asyncio.create_task(load.run_until(stop))
        await asyncio.sleep(self.args.kill_after)
        await asyncio.to_thread(self.serve.kill)
        killed_wall = time.time()
        await asyncio.sleep(0.5)
        stop.set()
        await running
        claimed = await _claimed_jobs(self.pg.url, owner)
        self.receiver.delay = 0.0
        load.base = replica.base
        retried = await load.retry_unanswered()
        out = await self.tally(load, before)
        await self._wait_jobs(claimed, limit=120)
        jobs = await _jobs_detail(self.pg.url, claimed, killed_wall)
        finished = [j["finished_after"] for j in jobs]
        acked_ids = {s.lead_id for s in load.sent if s.lead_id}
        await wait_until(
            lambda: self.hooks_check(acked_ids)["leads_with_webhook"] >= len(acked_ids),
            limit=180,
        )
        out.update(
            retried_unanswered=len(retried),
            claimed_by_dead_process=len(claimed),
            claims_done_seconds_after_kill=None
            if not finished or None in finished
            else max(finished),
            claimed_jobs=jobs,
        )
        out.update(self.hooks_check(acked_ids))
        await self.unsubscribe(sub, replica.base)
        self.service = replica  # the survivor serves the faults that follow
        return out

    # --- 4. the receiver away ------------------------------------------------------------

    async def receiver_away(self) -> dict[str, Any]:
        sub = await self.subscribe()
        before = await stored_leads(self.pg.url)
        await self.receiver.stop()
        away_at = time.monotonic()
        load = Load(self.serve.base, self.headers, clients=4)
        stop = asyncio.Event()
        running = asyncio.create_task(load.run_until(stop, pause=0.25))
        await asyncio.sleep(self.args.away)
        stop.set()
        await running
        await asyncio.sleep(1.0)  # the last leads' first attempts fail too
        out = await self.tally(load, before)
        acked_ids = {s.lead_id for s in load.sent if s.lead_id}
        await self.receiver.start()
        back_at = time.monotonic()
        async with httpx.AsyncClient(base_url=self.serve.base, headers=self.headers) as c:
            r = await c.post(f"/v1/webhook-subscriptions/{sub}/retry-now")
        drained = await wait_until(
            lambda: self.hooks_check(acked_ids)["leads_with_webhook"] >= len(acked_ids),
            limit=300,
        )
        caught_up = None if drained is None else round(time.monotonic() - back_at, 1)
        await asyncio.sleep(10.0)  # past the first scheduled retry: nothing comes twice
        out.update(
            seconds_away=round(back_at - away_at, 1),
            retry_now={"status": r.status_code, "scheduled": r.json().get("scheduled")},
            seconds_to_catch_up_after_return=caught_up,
        )
        out.update(self.hooks_check(acked_ids))
        await self.unsubscribe(sub)
        return out


def targets(results: dict[str, Any]) -> list[tuple[str, str, bool | None]]:
    """The issue's targets, each with what was measured and whether it held."""
    rows: list[tuple[str, str, bool | None]] = []
    o = results.get("outage")
    if o:
        first = o["seconds_to_first_2xx_after_return"]
        rows += [
            ("outage: 0 x 500", str(o["status_500"]), o["status_500"] == 0),
            ("outage: every refusal 503 + Retry-After, problem+json",
             f"{o['status_503']} refused, {o['refused_without_retry_after']} without "
             f"Retry-After, {o['refused_not_problem_json']} not problem+json",
             o["refused_without_retry_after"] == 0 and o["refused_not_problem_json"] == 0),
            ("outage: no traceback in the log", str(o["log"]["tracebacks"]),
             o["log"]["tracebacks"] == 0),
            ("outage: one warning per refusal",
             f"{o['log']['database_unavailable_warnings']} warnings for {o['status_503']}",
             o["log"]["database_unavailable_warnings"] == o["status_503"]),
            ("outage: every acknowledged lead stored", f"lost {o['lost']}", o["lost"] == 0),
            ("outage: first 2xx within 2 s of return", f"{first} s",
             first is not None and first <= 2.0),
            ("outage: /readyz 503 while away", str(o["readyz_while_stopped"]["status"]),
             o["readyz_while_stopped"]["status"] == 503),
            ("after restart: webhook within 0.5 s (LISTEN back)",
             f"p50 {o['fresh_lead_webhook_ms']['p50']} ms, max "
             f"{o['fresh_lead_webhook_ms']['max']} ms",
             o["fresh_lead_webhook_ms"]["over_500ms"] == 0 and o["fresh_lead_webhook_ms"]["n"] > 0),
        ]  # fmt: skip
    k = results.get("kill")
    if k:
        done = k["claims_done_seconds_after_ready"]
        rows += [
            ("kill -9 + retries: 0 lost, 0 duplicated",
             f"lost {k['lost']}, duplicated {k['duplicated']}",
             k["lost"] == 0 and k["duplicated"] == 0),
            ("kill -9: dead claims out within 30 s of restart",
             f"{k['claimed_by_dead_process']} claims, done {done} s after ready",
             done is not None and done <= 30),
        ]  # fmt: skip
    t = results.get("takeover")
    if t:
        done = t["claims_done_seconds_after_kill"]
        rows += [
            ("kill -9 of one of two: 0 lost, 0 duplicated",
             f"lost {t['lost']}, duplicated {t['duplicated']}",
             t["lost"] == 0 and t["duplicated"] == 0),
            ("kill -9 of one of two: its claims out within 30 s of the kill",
             f"{t['claimed_by_dead_process']} claims, done {done} s after the kill",
             done is not None and done <= 30),
        ]  # fmt: skip
    w = results.get("receiver")
    if w:
        rows += [
            ("receiver away: every event delivered, once, signed",
             f"{w['leads_with_webhook']}/{w['acknowledged']} leads, {w['webhook_ids_twice']} "
             f"twice, {w['bad_signatures']} bad signatures",
             w["leads_with_webhook"] == w["acknowledged"] and w["webhook_ids_twice"] == 0
             and w["bad_signatures"] == 0),
        ]  # fmt: skip
    return rows


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--outage", type=float, default=10.0, help="seconds PostgreSQL is stopped")
    ap.add_argument("--away", type=float, default=60.0, help="seconds the receiver is away")
    ap.add_argument("--kill-after", type=float, default=8.0, help="seconds of load before kill")
    ap.add_argument("--fresh", type=int, default=20, help="leads timed to their webhook")
    ap.add_argument("--only", default="outage,kill,takeover,receiver")
    ap.add_argument("--pg-port", type=int, default=20310)
    ap.add_argument("--port", type=int, default=20311)
    ap.add_argument("--receiver-port", type=int, default=20312)
    ap.add_argument("--replica-port", type=int, default=20313)
    ap.add_argument("--out", default=str(RESULTS / "faults.json"))
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="lead-router-faults-"))
    bench = Bench(args, root)
    results: dict[str, Any] = {"machine": machine(), "args": vars(args)}
    results["load_average_before"] = os.getloadavg()
    started = time.monotonic()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        await bench.setup()
        for name in args.only.split(","):
            print(f"-- {name}", flush=True)
            fn = {"outage": bench.outage, "kill": bench.kill, "takeover": bench.takeover,
                  "receiver": bench.receiver_away}  # fmt: skip
            results[name] = await fn[name]()
            print(json.dumps(results[name], indent=1), flush=True)
            out.write_text(json.dumps(results, indent=1) + "\n")  # kept if a later one fails
    finally:
        await bench.teardown()
    results["seconds"] = round(time.monotonic() - started)
    results["load_average_after"] = os.getloadavg()
    results["targets"] = [{"target": t, "measured": m, "held": ok} for t, m, ok in targets(results)]
    print()
    for t, m, ok in targets(results):
        print(f"{'yes' if ok else 'NO ':3}  {t:55} {m}")
    out.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    asyncio.run(main())
