"""A client generated from the served `/openapi.json` covers every operation, without a
warning, and takes a lead through its life against the running service."""

from __future__ import annotations

import datetime as dt
import importlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import Org
from tests.intake.helpers import person
from tests.support.service import ROOT, Service, service_env

CONFIG = ROOT / "docs" / "openapi-python-client.yaml"
PACKAGE = "lead_router_api_client"


@pytest.fixture(scope="module")
def served(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    tmp = tmp_path_factory.mktemp("generated-client")
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


@pytest.fixture(scope="module")
def generated(served: Service, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("client") / PACKAGE
    # Built once per process, on the first request: not inside the generator's 5 s timeout.
    assert httpx.get(f"{served.base}/openapi.json", timeout=120).status_code == 200
    bin_dir = Path(sys.executable).parent
    run = subprocess.run(
        [str(bin_dir / "openapi-python-client"), "generate", "--url",
         f"{served.base}/openapi.json", "--meta", "none", "--output-path", str(out),
         "--config", str(CONFIG)],
        capture_output=True, text=True, timeout=300, cwd=out.parent,
        # Its formatting hook runs this environment's ruff.
        env={**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"},
    )  # fmt: skip
    return out, run.stdout + run.stderr + f"\nexit {run.returncode}"


def test_every_operation_is_generated_without_a_warning(
    served: Service, generated: tuple[Path, str]
) -> None:
    out, log = generated
    assert log.endswith("exit 0"), log
    for word in ("warning", "unable", "unsupported", "will not be generated", "skipping"):
        assert word not in log.lower(), log
    doc = httpx.get(f"{served.base}/openapi.json").json()
    ids = {
        op["operationId"]
        for item in doc["paths"].values()
        for method, op in item.items()
        if method in ("get", "put", "post", "patch", "delete")
    }
    modules = {p.stem for p in (out / "api").rglob("*.py") if p.stem != "__init__"}
    assert len(ids) > 90
    assert ids - modules == set()


def _module(out: Path, name: str) -> Any:
    if str(out.parent) not in sys.path:
        sys.path.insert(0, str(out.parent))
    return importlib.import_module(f"{PACKAGE}.{name}")


def test_a_lead_through_its_life_with_the_generated_client(
    served: Service, generated: tuple[Path, str], org: Org
) -> None:
    out, _ = generated
    client_mod = _module(out, "client")
    models = _module(out, "models")
    # Grouped by tag: found by operation, wherever the tags put it.
    found = {p.stem: p.parent.name for p in (out / "api").rglob("*.py")}
    api = {
        name: _module(out, f"api.{found[name]}.{name}")
        for name in (
            "create_lead",
            "get_lead",
            "create_attempt",
            "create_appointment",
            "read_fhir_appointment",
        )
    }
    client = client_mod.AuthenticatedClient(base_url=served.base, token=org.admin_key)
    lead = person(9401)

    body = models.CanonicalLead.from_dict(lead)
    made = api["create_lead"].sync_detailed(client=client, body=body)
    assert made.status_code == 201, made.content
    assert isinstance(made.parsed, models.LeadAccepted)
    lead_id = made.parsed.lead_id

    read = api["get_lead"].sync_detailed(lead_id, client=client)
    assert read.status_code == 200, read.content
    assert str(read.parsed.id) == str(lead_id)

    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    attempt = models.AttemptIn.from_dict(
        {"channel": "voice", "direction": "inbound", "outcome": "connected",
         "started_at": now.isoformat()}
    )  # fmt: skip
    tried = api["create_attempt"].sync_detailed(lead_id, client=client, body=attempt)
    assert tried.status_code == 201, tried.content
    assert tried.parsed.outcome == "connected"

    start = now + dt.timedelta(days=2)
    booked = models.AppointmentIn.from_dict(
        {"external_id": "gen-client-1", "status": "booked", "start": start.isoformat(),
         "end": (start + dt.timedelta(minutes=30)).isoformat()}
    )  # fmt: skip
    appt = api["create_appointment"].sync_detailed(lead_id, client=client, body=booked)
    assert appt.status_code == 201, appt.content
    assert isinstance(appt.parsed, models.AppointmentOut)
    assert appt.parsed.status == "booked"

    as_fhir = api["read_fhir_appointment"].sync_detailed(appt.parsed.id, client=client)
    assert as_fhir.status_code == 200
    assert json.loads(as_fhir.content)["identifier"][0]["value"] == "gen-client-1"
    assert isinstance(as_fhir.parsed, models.FhirAppointment)
