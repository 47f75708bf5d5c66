"""Schemathesis over every operation of the served API, with a seeded practice and the
stateful phase on: no 5xx, every 4xx a problem, every answer as documented.

Sized to about two minutes; `bench/fuzz.py` runs the same for 10,000 answers.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Org
from tests.support import fuzz
from tests.support.service import Service, service_env

SECONDS = 120


@pytest.fixture(scope="module")
def served(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    tmp = tmp_path_factory.mktemp("schemathesis")
    env = service_env(
        database_url,
        tmp / "data",
        log_level="WARNING",
        # The test process's secrets: its committed organisations' keys work here.
        environment="test",
        secret_key="change-me",
        encryption_keys="change-me",
    )
    service = Service(env, tmp / "serve.log", "serve", "--no-worker", "--no-migrate")
    service.start().wait_ready(limit=180)
    try:
        yield service
    finally:
        service.stop()


def test_generated_requests_over_every_operation(
    served: Service, committed_org: Org, tmp_path: Path
) -> None:
    ids = fuzz.seed(served.base, committed_org.admin_key)
    outcome = fuzz.run(
        served.base, committed_org.admin_key, ids, tmp_path,
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
