"""lead-router and its nearest open-source peer, BottleCRM, on the same leads in one run.

    python bench/bench_peer.py [--duration 20] [--rate 20] [--rounds 2] [--connections 32]

BottleCRM (the `django-crm` package, 1.35) is installed by this script into a virtualenv of
its own under ~/.cache/lead-router-peer (a Python 3.12 or later found on the machine: under
3.11 pip quietly picks an old 0.9 release); none of its code is in this repository. It runs
on PostgreSQL 127.0.0.1:5432, database `peer_crm` (migrated once, kept between runs), with
Redis 127.0.0.1:6379 database 13 for its cache, rate limits and Celery queue, under gunicorn
with one worker per core (4 threads each, as its documentation recommends) and its
documented connection pool on. Each run makes one organisation with three users, a lead
webhook (preset: generic) and an automation rule assigning each created lead to the three
users in rotation (its round robin: `automation.actions`, a row lock on the rotation).

lead-router runs as bench/bench_intake.py runs it (`serve`, one worker per core, the demo
practice, every team open), on a fresh database.

Both get the same leads: a generic webhook lead (name, phone, email, ZIP and a free-text
reason), distinct people with 10 % resubmissions (the same person again, a new submission
id). lead-router receives it as a signed web-form delivery; BottleCRM as a POST to its
lead webhook with its key. Each round runs both services alternately (which goes first
alternates too): at saturation (--connections keep-alive connections, closed loop) and
offered open-loop at --rate leads a second. Reported per service: leads a second, p50/p99,
CPU milliseconds a lead of the server's processes and of the PostgreSQL backends of its
database (from /proc), and what it did with the leads (assigned, de-duplicated, scored).
Writes bench/results/peer.json.

BottleCRM runs at most 1000 automation rules per organisation an hour
(`automation/limits.py`), after which leads stay unassigned; before each of its phases the
script moves the organisation's earlier rule runs out of the current hour, so each phase is
measured with its rotation working, as an organisation under the limit sees it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import asyncpg
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.signatures import sign_standard_webhook
from bench import bench_intake as bi
from bench.loadgen import build_request, percentile

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
PEER_VERSION = "1.35"
PEER_DIR = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "lead-router-peer"
PEER_DB = "peer_crm"
PEER_REDIS = "redis://127.0.0.1:6379/13"
PG = "postgresql://postgres@127.0.0.1:5432"  # --pg-port changes it
WEB_FORM_SECRET = "whsec_ZGVtby1vbmx5LXdlYi1mb3JtLXNlY3JldC0xMjM0NTY="

REASONS = [
    "Knee pain for a few weeks after running, would like an appointment.",
    "Torn ACL last month, looking for a surgeon.",
    "Hip pain when walking, getting worse.",
    "Lower back pain, can't sit for long.",
    "Snoring and waking up tired, my wife says I stop breathing.",
    "Insomnia for months, exhausted during the day.",
    "Shoulder injury from tennis, can't lift my arm.",
]


def find_python() -> str:
    """A Python 3.12 or later: on PATH, or under pyenv."""
    for name in ("python3.13", "python3.12"):
        found = shutil.which(name)
        # A pyenv shim is on PATH for every installed version, but runs only the active ones.
        if found and subprocess.run([found, "-c", ""], capture_output=True).returncode == 0:
            return found
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    for version in sorted(pyenv.glob("3.1[2-9]*"), reverse=True):
        for exe in sorted(version.glob("bin/python3.1[2-9]")):
            return str(exe)
    raise SystemExit("BottleCRM needs Python 3.12 or later; none found on PATH or in pyenv")


def install_peer() -> Path:
    venv = PEER_DIR / "venv"
    python = venv / "bin" / "python"
    check = [str(python), "-c", "import importlib.metadata as m; print(m.version('django-crm'))"]
    if python.exists():
        have = subprocess.run(check, capture_output=True, text=True).stdout.strip()
        if have.startswith(PEER_VERSION):
            return venv
    print(f"installing BottleCRM (django-crm {PEER_VERSION}) into {venv}", flush=True)
    PEER_DIR.mkdir(parents=True, exist_ok=True)
    subprocess.run([find_python(), "-m", "venv", "--clear", str(venv)], check=True)
    # kombu's Redis transport imports `packaging`, which nothing in its tree requires.
    wanted = [f"django-crm=={PEER_VERSION}.*", "gunicorn", "packaging"]
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", *wanted], check=True)
    return venv


def peer_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEAD_ROUTER_")}
    env.update(
        DJANGO_SETTINGS_MODULE="crm.settings",
        ENV_TYPE="dev",  # uploads on local disk instead of S3; nothing else differs
        DEBUG="False",
        SECRET_KEY="benchmark-only-secret-key-0123456789-abcdefghijklmnop",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        DBNAME=PEER_DB,
        DBUSER="postgres",
        DBPASSWORD="",
        DBHOST="127.0.0.1",
        DBPORT=PG.rsplit(":", 1)[1],
        DB_POOL_ENABLED="true",
        # Four threads a worker: a pool of 5 each keeps the shared server's connections free.
        DB_POOL_MAX_SIZE="5",
        CELERY_BROKER_URL=PEER_REDIS,
        CELERY_RESULT_BACKEND=PEER_REDIS,
        CACHE_URL=PEER_REDIS,
        # Its webhook limits (120 a minute, 5000 a day by default) would refuse the benchmark.
        LEAD_INTAKE_THROTTLE_MINUTE="1000000/min",
        LEAD_INTAKE_THROTTLE_DAY="100000000/day",
    )
    return env


SETUP = """
import json, secrets, time
import django
django.setup()
from django.utils import timezone
from automation.models import AutomationRule
from automation.validation import validate_rule
from common.models import Org, Profile, User
from leads.models import LeadIntake

stamp = str(int(time.time()))
org = Org.objects.create(name="Bench practice " + stamp, company_name="Bench practice")
people = []
for i in range(3):
    user = User.objects.create(email=f"member{i}.{stamp}@example.com", name=f"Member {i}")
    people.append(Profile.objects.create(
        user=user, org=org, role="ADMIN" if i == 0 else "USER",
        is_organization_admin=i == 0, has_sales_access=True, is_active=True))
intake = LeadIntake.objects.create(
    org=org, name="Website", preset="generic", key=secrets.token_urlsafe(32),
    default_source="web form")
rule = {
    "object_key": "lead",
    "trigger": {"event": "created"},
    "match": "all",
    "conditions": [],
    "actions": [{"type": "assign", "mode": "rotate", "people": [str(p.id) for p in people]}],
}
errors = validate_rule(org, rule)
assert not errors, errors
AutomationRule.objects.create(
    org=org, name="Round robin", owner=people[0], is_active=True,
    switched_on_at=timezone.now(), **rule)
print("SETUP " + json.dumps({"org": str(org.id), "intake": str(intake.id), "key": intake.key}))
"""


def setup_peer(venv: Path, env: dict[str, str]) -> dict[str, str]:
    python = str(venv / "bin" / "python")
    admin = str(venv / "bin" / "django-admin")
    asyncio.run(_create_database(PEER_DB))
    print("BottleCRM: migrating (once; slow the first time)", flush=True)
    subprocess.run([admin, "migrate", "-v", "0"], env=env, check=True, cwd=PEER_DIR)
    out = subprocess.run(
        [python, "-c", SETUP], env=env, check=True, capture_output=True, text=True, cwd=PEER_DIR
    ).stdout
    line = next(x for x in out.splitlines() if x.startswith("SETUP "))
    return dict(json.loads(line[len("SETUP ") :]))


async def _create_database(name: str) -> None:
    conn = await asyncpg.connect(f"{PG}/postgres")
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def _drop_database(name: str) -> None:
    conn = await asyncpg.connect(f"{PG}/postgres")
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def start_peer(venv: Path, env: dict[str, str], port: int, workers: int) -> subprocess.Popen[bytes]:
    log = RESULTS / "server-peer.log"
    proc = subprocess.Popen(
        [
            str(venv / "bin" / "gunicorn"),
            "crm.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--threads",
            "4",
            "--timeout",
            "120",
        ],
        env=env,
        cwd=PEER_DIR,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.time() + 180
    while time.time() < deadline:
        try:
            # Any answer means the workers have loaded Django.
            httpx.get(f"http://127.0.0.1:{port}/api/public/leads/", timeout=2)
            return proc
        except httpx.TransportError:
            time.sleep(0.5)
    os.killpg(proc.pid, signal.SIGKILL)
    raise SystemExit(f"BottleCRM did not start; see {log}")


def crowd(n: int, seed: int, tag: str, block: int) -> list[dict[str, str]]:
    """n submissions: distinct people, 10 % of them a person from earlier again, each with
    its own submission id. `block` keeps each phase's phone numbers apart from the others'
    (n stays under 10,000), so no phase de-duplicates against another."""
    import random

    rnd = random.Random(seed)
    people: list[dict[str, str]] = []
    out = []
    for i in range(n):
        if i > 10 and rnd.random() < 0.10:
            person = people[rnd.randrange(len(people))]
        else:
            person = {
                "first_name": rnd.choice(["Maria", "James", "Aisha", "Wei", "Olga", "Luis"]),
                "last_name": f"Peer{i}",
                "phone": f"+1 312-{200 + block:03d}-{i:04d}",
                "email": f"peer.person{i}.{seed}@example.com",
                "zip": rnd.choice(["60611", "60614", "60647", "60540", "60563", "60601"]),
                "reason": rnd.choice(REASONS),
            }
            people.append(person)
        out.append({**person, "id": f"{tag}-{i}"})
    return out


def ours_requests(host: str, source_id: str, leads: list[dict[str, str]]) -> list[bytes]:
    out = []
    for lead in leads:
        body = json.dumps(
            {
                "external_id": lead["id"],
                "first_name": lead["first_name"],
                "last_name": lead["last_name"],
                "phone": lead["phone"],
                "email": lead["email"],
                "postal_code": lead["zip"],
                "reason": lead["reason"],
            }
        ).encode()
        msg_id, ts = f"msg_{lead['id']}", int(time.time())
        headers = {
            "Content-Type": "application/json",
            "webhook-id": msg_id,
            "webhook-timestamp": str(ts),
            "webhook-signature": sign_standard_webhook(msg_id, ts, body, WEB_FORM_SECRET),
        }
        out.append(build_request("POST", f"/v1/webhooks/{source_id}", host, headers, body))
    return out


def peer_requests(host: str, peer: dict[str, str], leads: list[dict[str, str]]) -> list[bytes]:
    """The generic preset: top-level keys named like a lead column fill it; what is left
    (the reason) becomes the enquiry's text."""
    out = []
    for lead in leads:
        body = json.dumps(
            {
                "external_id": lead["id"],
                "first_name": lead["first_name"],
                "last_name": lead["last_name"],
                "phone": lead["phone"],
                "email": lead["email"],
                "postcode": lead["zip"],
                "reason": lead["reason"],
            }
        ).encode()
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {peer['key']}"}
        out.append(
            build_request("POST", f"/api/public/leads/{peer['intake']}/", host, headers, body)
        )
    return out


def cpu_seconds(server_pid: int, database: str) -> dict[str, float]:
    """CPU seconds so far of the server's process tree and of the PostgreSQL backends
    serving `database` (a backend's title names its database; both services keep pooled
    connections, so their backends live through a phase)."""
    parents: dict[int, int] = {}
    ticks: dict[int, int] = {}
    backend: dict[int, bool] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        rest = stat.rsplit(") ", 1)[1].split()
        pid = int(entry.name)
        parents[pid], ticks[pid] = int(rest[1]), int(rest[11]) + int(rest[12])
        backend[pid] = cmdline.startswith(b"postgres: ") and f" {database} ".encode() in cmdline

    def in_server(pid: int) -> bool:
        while pid > 1:
            if pid == server_pid:
                return True
            pid = parents.get(pid, 0)
        return False

    hz = os.sysconf("SC_CLK_TCK")
    return {
        "server": sum(t for p, t in ticks.items() if in_server(p)) / hz,
        "postgres": sum(t for p, t in ticks.items() if backend[p]) / hz,
    }


def measure(
    port: int,
    reqs: list[bytes],
    args: argparse.Namespace,
    pid: int,
    database: str,
    rate: float | None,
) -> dict[str, Any]:
    before = cpu_seconds(pid, database)
    # A server far below the offered rate answers the last leads minutes after they were sent.
    r = bi.drive(port, reqs, args.connections, args.duration, rate=rate, patience=900)
    after = cpu_seconds(pid, database)
    n = len(r.latencies_ms)
    ok = sum(v for k, v in r.statuses.items() if 200 <= k < 300)
    return {
        "leads": n,
        "ok": ok,
        "statuses": r.statuses,
        "leads_per_s": round(n / r.elapsed_s, 1),
        "p50_ms": round(percentile(r.latencies_ms, 0.5), 1),
        "p99_ms": round(percentile(r.latencies_ms, 0.99), 1),
        **{
            f"cpu_{k}_ms_per_lead": round((after[k] - before[k]) * 1000 / max(n, 1), 2)
            for k in after
        },
    }


async def ours_outcome(url: str, tag: str) -> dict[str, Any]:
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        row = await conn.fetchrow(
            """
            SELECT count(*) AS submissions,
                   count(*) FILTER (WHERE s.is_resubmission) AS deduplicated,
                   count(DISTINCT s.lead_id) AS leads,
                   count(DISTINCT s.lead_id) FILTER (WHERE l.member_id IS NOT NULL) AS assigned,
                   count(DISTINCT s.lead_id) FILTER (WHERE l.score IS NOT NULL) AS scored
            FROM lead_submissions s JOIN leads l ON l.id = s.lead_id
            WHERE s.external_id LIKE $1
            """,
            f"{tag}-%",
        )
        return dict(row)
    finally:
        await conn.close()


async def peer_outcome(org: str, tag: str) -> dict[str, Any]:
    conn = await asyncpg.connect(f"{PG}/{PEER_DB}")
    try:
        row = await conn.fetchrow(
            """
            SELECT count(*) AS submissions,
                   count(*) FILTER (WHERE e.result IN ('merged', 'duplicate')) AS deduplicated,
                   count(DISTINCT e.lead_id) AS leads,
                   count(DISTINCT e.lead_id) FILTER (WHERE EXISTS (
                       SELECT 1 FROM lead_assigned_to a WHERE a.lead_id = e.lead_id))
                       AS assigned,
                   0 AS scored
            FROM lead_intake_event e
            WHERE e.org_id = $1::uuid AND e.external_id LIKE $2
            """,
            org,
            f"{tag}-%",
        )
        return dict(row)
    finally:
        await conn.close()


async def peer_reset_rule_window(org: str) -> None:
    """Earlier rule runs out of the current hour (see the module's docstring)."""
    conn = await asyncpg.connect(f"{PG}/{PEER_DB}")
    try:
        await conn.execute(
            "UPDATE automation_run SET created_at = created_at - interval '1 hour' "
            "WHERE org_id = $1::uuid AND created_at > now() - interval '1 hour'",
            org,
        )
    finally:
        await conn.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--duration", type=float, default=20.0)
    ap.add_argument("--rate", type=float, default=20.0)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--port", type=int, default=20810, help="BottleCRM's; lead-router's is +1")
    ap.add_argument(
        "--pg-port",
        type=int,
        default=5432,
        help="the PostgreSQL on 127.0.0.1 both services use (trust, user postgres)",
    )
    args = ap.parse_args()
    global PG
    PG = f"postgresql://postgres@127.0.0.1:{args.pg_port}"
    RESULTS.mkdir(parents=True, exist_ok=True)

    venv = install_peer()
    penv = peer_env()
    peer = setup_peer(venv, penv)
    ours_db = f"lr_bench_{int(time.time())}"
    asyncio.run(_create_database(ours_db))
    url = f"postgresql+asyncpg://postgres@127.0.0.1:{args.pg_port}/{ours_db}"
    env = bi.env_for(url)
    key = bi.seed_demo(env)

    peer_port, ours_port = args.port, args.port + 1
    peer_host, ours_host = f"127.0.0.1:{peer_port}", f"127.0.0.1:{ours_port}"
    ours = bi.start_server(env, ours_port, args.workers, RESULTS / "server-ours.log")
    theirs = start_peer(venv, penv, peer_port, args.workers)
    results: list[dict[str, Any]] = []
    try:
        bi.open_every_team(ours_host, key)
        listed = httpx.get(
            f"http://{ours_host}/v1/sources", headers={"Authorization": f"Bearer {key}"}
        ).json()["data"]
        source = next(s["id"] for s in listed if s["kind"] == "web_form")
        budget = min(int(args.duration * 400) + 200, 9999)
        seed = int(time.time())
        # Warm-up: each process opens its connections and fills its caches.
        warm = crowd(300, seed - 1, f"warm{seed}", block=99)
        bi.drive(ours_port, ours_requests(ours_host, source, warm), args.connections, 3)
        bi.drive(peer_port, peer_requests(peer_host, peer, warm), args.connections, 3)
        asyncio.run(bi.analyze(url))
        asyncio.run(bi.analyze(f"{PG}/{PEER_DB}"))
        for rnd in range(args.rounds):
            for phase, rate in (("saturation", None), (f"{args.rate:g}/s", args.rate)):
                tag = f"r{rnd}-{'sat' if rate is None else 'rate'}-{seed}"
                block = 2 * rnd + (0 if rate is None else 1)
                leads = crowd(budget, seed + block, tag, block)
                order = ["lead-router", "BottleCRM"]
                if rnd % 2:
                    order.reverse()
                for service in order:
                    if service == "lead-router":
                        reqs = ours_requests(ours_host, source, leads)
                        row = measure(ours_port, reqs, args, ours.pid, ours_db, rate)
                        row |= asyncio.run(ours_outcome(url, tag))
                    else:
                        asyncio.run(peer_reset_rule_window(peer["org"]))
                        reqs = peer_requests(peer_host, peer, leads)
                        row = measure(peer_port, reqs, args, theirs.pid, PEER_DB, rate)
                        row |= asyncio.run(peer_outcome(peer["org"], tag))
                    row = {"round": rnd + 1, "phase": phase, "service": service, **row}
                    results.append(row)
                    print(json.dumps(row), flush=True)
    finally:
        for proc in (ours, theirs):
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        asyncio.run(_drop_database(ours_db))

    print(
        f"\n{'phase':11} {'service':12} {'leads/s':>8} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'CPU ms/lead: server':>20} {'PostgreSQL':>10} {'leads':>6} {'assigned':>9} "
        f"{'dedup':>6} {'scored':>6}"
    )
    summary: dict[str, dict[str, dict[str, float]]] = {}
    for phase in dict.fromkeys(r["phase"] for r in results):
        for service in ("lead-router", "BottleCRM"):
            rows = [r for r in results if r["phase"] == phase and r["service"] == service]
            med = {
                k: round(statistics.median(r[k] for r in rows), 2)
                for k in (
                    "leads_per_s",
                    "p50_ms",
                    "p99_ms",
                    "cpu_server_ms_per_lead",
                    "cpu_postgres_ms_per_lead",
                )
            }
            summary.setdefault(phase, {})[service] = med
            last = rows[-1]
            print(
                f"{phase:11} {service:12} {med['leads_per_s']:>8} {med['p50_ms']:>8} "
                f"{med['p99_ms']:>8} {med['cpu_server_ms_per_lead']:>20} "
                f"{med['cpu_postgres_ms_per_lead']:>10} {last['leads']:>6} "
                f"{last['assigned']:>9} {last['deduplicated']:>6} {last['scored']:>6}"
            )
    for phase, both in summary.items():
        a, b = both["lead-router"], both["BottleCRM"]
        cpu_a = a["cpu_server_ms_per_lead"] + a["cpu_postgres_ms_per_lead"]
        cpu_b = b["cpu_server_ms_per_lead"] + b["cpu_postgres_ms_per_lead"]
        print(
            f"{phase}: lead-router / BottleCRM: leads/s "
            f"{a['leads_per_s'] / max(b['leads_per_s'], 0.01):.2f}, "
            f"CPU a lead (server + PostgreSQL) {cpu_a / max(cpu_b, 0.01):.2f}"
        )
    out = RESULTS / "peer.json"
    out.write_text(
        json.dumps(
            {
                "machine": bi.machine(),
                "peer": f"django-crm {PEER_VERSION} (BottleCRM), gunicorn",
                "workers": args.workers,
                "connections": args.connections,
                "duration_s": args.duration,
                "rate": args.rate,
                "medians": summary,
                "runs": results,
            },
            indent=2,
        )
    )
    print(f"\nmedians of {args.rounds} rounds; written {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
