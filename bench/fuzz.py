"""Generated requests over every operation, the stateful phase on, against a served process
with a seeded practice: how many answers were 5xx, and how many 4xx were not problems.

    python -m bench.fuzz --database-url postgresql://postgres@127.0.0.1:5432/lr_fuzz \
        --cases 10000

Run it on a database of its own (it is migrated, and a practice is added to it). `--cases`
is the number of answers to collect: the run repeats with new seeds until it has them.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import time
from collections import Counter
from pathlib import Path

from tests.support import fuzz
from tests.support.service import CLI, ROOT, Service, create_org, service_env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--max-examples", type=int, default=60)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "fuzz.json")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="lead-router-fuzz-"))
    # Generated requests send bad keys by the hundred: with the failed-authentication limit on,
    # most of the run would be answered 429 before reaching an operation (the limit has tests
    # of its own).
    env = service_env(
        args.database_url, work / "data", log_level="WARNING", auth_failures_per_minute="0"
    )
    subprocess.run([*CLI, "migrate"], env=env, check=True, cwd=ROOT, timeout=600)
    key = create_org(env, "Fuzz Practice")
    service = Service(env, work / "serve.log", "serve", "--no-worker").start()
    service.wait_ready(limit=300)
    started = time.monotonic()
    statuses: Counter[int] = Counter()
    server_errors: list[str] = []
    not_problems: list[str] = []
    runs = 0
    try:
        ids = fuzz.seed(service.base, key)
        while sum(statuses.values()) < args.cases:
            runs += 1
            outcome = fuzz.run(
                service.base, key, ids, work, max_examples=args.max_examples, seed_value=runs
            )
            statuses.update(outcome.statuses)
            server_errors += outcome.server_errors
            not_problems += outcome.not_problems
            print(f"run {runs}: {outcome.cases} answers, exit {outcome.exit_code}", flush=True)
            if outcome.cases == 0:
                print(outcome.output[-4000:])
                break
    finally:
        service.stop()
    result = {
        "answers": sum(statuses.values()),
        "runs": runs,
        "seconds": round(time.monotonic() - started),
        "status_5xx": len(server_errors),
        "non_problem_4xx": len(not_problems),
        "by_status": {str(k): v for k, v in sorted(statuses.items())},
        "server_errors": sorted(Counter(server_errors).items()),
        "non_problems": sorted(Counter(not_problems).items()),
    }
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
