"""Median time of one routing decision with 10, 100 and 1,000 rules.

The matching rule is the last non-default one, so every rule before it is
evaluated (the worst case for first-match). Run: `python bench/bench_routing.py`.
Writes bench/results/routing.json.
"""

from __future__ import annotations

import json
import platform
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.hours import parse_hours
from app.routing.core import LeadFacts, MemberState, TeamState, route
from app.routing.rules import compile_ruleset, fact_values

SIZES = (10, 100, 1000)
REPEATS = 2000
NOW = datetime(2026, 3, 2, 16, 0, tzinfo=UTC)
HOURS = parse_hours(
    {"time_zone": "America/Chicago", **{d: [["08:00", "17:00"]] for d in ("mon", "tue", "wed")}}
)


def ruleset(size: int) -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = [
        {
            "name": f"rule-{i}",
            "conditions": [
                {"field": "service", "op": "eq", "value": f"service-{i}"},
                {"field": "score", "op": "gte", "value": 50},
            ],
            "team_id": "main",
        }
        for i in range(size - 2)
    ]
    rules.append(
        {
            "name": "target",
            "conditions": [
                {"field": "service", "op": "eq", "value": "orthopedics"},
                {"field": "zip", "op": "prefix", "value": ["606", "607"]},
            ],
            "team_id": "main",
        }
    )
    rules.append({"name": "default", "team_id": "main"})
    return rules


def measure(fn: Any) -> float:
    samples = []
    for _ in range(REPEATS):
        start = time.perf_counter_ns()
        fn()
        samples.append(time.perf_counter_ns() - start)
    return statistics.median(samples) / 1000


def main() -> None:
    facts = LeadFacts(received_at=NOW, service="orthopedics", zip="60614", score=70)
    members = tuple(MemberState(member_id=f"m{i}", weight=1 + i % 3) for i in range(8))
    team = TeamState(team_id="main", strategy="weighted", hours=HOURS, members=members)
    teams = {"main": team}
    values = fact_values(facts)
    rows = []
    for size in SIZES:
        compiled = compile_ruleset(ruleset(size), version=1, team_ids={"main"})
        decision = route(facts, compiled, teams, NOW)
        assert decision.rule_name == "target" and decision.member_id is not None
        route_us = measure(lambda c=compiled: route(facts, c, teams, NOW))
        match_us = measure(lambda c=compiled: c.first_match(values))
        rows.append({"rules": size, "route_median_us": route_us, "match_median_us": match_us})
    print(f"{'rules':>6} {'route (us)':>12} {'rules only (us)':>16}")
    for row in rows:
        print(f"{row['rules']:>6} {row['route_median_us']:>12.1f} {row['match_median_us']:>16.1f}")
    out = Path(__file__).resolve().parent / "results" / "routing.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    meta = {"python": platform.python_version(), "machine": platform.machine(), "repeats": REPEATS}
    out.write_text(json.dumps({"meta": meta, "results": rows}, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
