"""Schemathesis over every operation of the served API, with a seeded practice and the
stateful phase on: no 5xx, every 4xx a problem, every answer as documented.

Sized to about two minutes; `bench/fuzz.py` runs the same for 10,000 answers.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from tests.support import fuzz
from tests.support.service import CLI, ROOT, Service, create_org, service_env

SECONDS = 120


async def _admin(url: str, statement: str) -> None:
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@pytest.fixture(scope="module")
def served(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """On a database of its own: what the generated requests commit (subscriptions, pending
    deliveries, jobs) must not reach the tests that share the suite's database."""
    tmp = tmp_path_factory.mktemp("schemathesis")
    name = f"lr_fuzz_{uuid.uuid4().hex[:8]}"
    asyncio.run(_admin(database_url, f'CREATE DATABASE "{name}"'))
    # The embedded server's URL names its socket directory in the query: only the database
    # name changes.
    own_url = make_url(database_url).set(database=name).render_as_string(hide_password=False)
    env = service_env(
        own_url,
        tmp / "data",
        log_level="WARNING",
        # The test process's secrets: its committed organisations' keys work here.
        environment="test",
        secret_key="change-me",
        encryption_keys="change-me",
        # Generated requests send bad keys by the hundred: with the failed-authentication
        # limit on, most answers would be 429 before reaching an operation (tested apart).
        auth_failures_per_minute="0",
    )
    subprocess.run([*CLI, "migrate"], env=env, check=True, cwd=ROOT, timeout=600)
    service = Service(env, tmp / "serve.log", "serve", "--no-worker", "--no-migrate")
    service.key = create_org(env, "Fuzz Practice")  # type: ignore[attr-defined]
    service.start().wait_ready(limit=180)
    try:
        yield service
    finally:
        service.stop()
        asyncio.run(_admin(database_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def test_generated_requests_over_every_operation(served: Service, tmp_path: Path) -> None:
    key = served.key  # type: ignore[attr-defined]
    ids = fuzz.seed(served.base, key)
    outcome = fuzz.run(
        served.base, key, ids, tmp_path,
        # A few cases per operation, then the rest of the time to chains of links.
        max_examples=3, max_time=SECONDS, seed_value=24, phases="fuzzing,stateful",
    )  # fmt: skip
    # The failures, without the warnings that follow them.
    report = outcome.output.split("WARNINGS")[0][-6000:]
    assert outcome.cases > 100, report
    scenarios = re.search(r"Scenarios:\s+(\d+)", outcome.output)
    assert scenarios and int(scenarios[1]) > 0, report
    assert outcome.server_errors == [], report
    assert outcome.not_problems == [], report
    # Every operation of the document was selected and tested.
    selected = re.search(r"Selected: (\d+)/(\d+)", outcome.output)
    tested = re.search(r"Tested: (\d+)", outcome.output)
    assert selected and tested, report
    assert selected[1] == selected[2] == tested[1], report
    # Schema conformance and the problem check fail the run itself.
    assert outcome.exit_code == 0, report
