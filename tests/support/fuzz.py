"""Schemathesis against a served process: a seeded practice, every operation, the stateful
phase on, and a tally of every answer (shared by the suite's run and `bench/fuzz.py`).

The practice gives every path parameter a real id, so generated requests reach the code
behind the 404; the document's links let the stateful phase chain creates into reads,
changes and deletes. The checks fail a run on a 5xx, on a 4xx that is not
`application/problem+json` (a FHIR `OperationOutcome` where the document says so), and on
an answer that does not match its documented schema.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import subprocess
import sys
import textwrap
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

HOOKS = "tests.support.fuzz_checks"
ROOT = Path(__file__).resolve().parents[2]


def _post(c: httpx.Client, url: str, body: Any, **kw: Any) -> dict[str, Any]:
    r = c.post(url, json=body, **kw)
    assert r.status_code in (200, 201), (url, r.status_code, r.text)
    return dict(r.json())


def seed(base: str, key: str) -> dict[str, str]:
    """A practice with one of everything; answers `{path parameter: id}`."""
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    tag = uuid.uuid4().hex[:8]  # seeding twice in one organisation makes no conflict
    fhir = {"content-type": "application/fhir+json"}
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=60) as c:
        location = _post(c, "/v1/locations", {"name": "Fuzz Clinic", "postal_code": "60647"})
        service = _post(c, "/v1/services", {"code": f"knee-{tag}", "name": "Knee"})
        team = _post(c, "/v1/teams", {"name": "Fuzz desk"})
        member = _post(c, f"/v1/teams/{team['id']}/members", {"display_name": "Ann"})
        rule = {"id": "default", "name": "everyone", "team_id": team["id"]}
        ruleset = _post(c, "/v1/routing/rulesets", {"name": "fuzz", "rules": [rule]})
        _post(c, f"/v1/routing/rulesets/{ruleset['id']}/publish", None)
        subscription = _post(
            c,
            "/v1/webhook-subscriptions",
            {"url": "http://127.0.0.1:9/fuzz", "event_types": ["lead.received"]},
        )
        secret = "whsec_" + base64.b64encode(b"fuzz" * 8).decode()
        source = _post(
            c,
            "/v1/sources",
            {"kind": "web_form", "name": "Fuzz form", "settings": {"secrets": [secret]}},
        )
        lead = _post(
            c,
            "/v1/leads",
            {"first_name": "Fuzz", "last_name": "Lead", "phone": "+1 312 555 0199",
             "email": "fuzz@example.com", "postal_code": "60647"},
        )  # fmt: skip
        start = now + dt.timedelta(days=2)
        appointment = _post(
            c,
            f"/v1/leads/{lead['lead_id']}/appointments",
            {"external_id": f"fuzz-{tag}", "status": "booked", "start": start.isoformat(),
             "end": (start + dt.timedelta(minutes=30)).isoformat()},
        )  # fmt: skip
        api_key = _post(c, "/v1/api-keys", {"name": "fuzz reader", "scopes": ["leads:read"]})
        erasure = _post(
            c,
            "/v1/erasure-requests",
            {"email": "nobody-fuzz@example.com", "received_at": now.isoformat(),
             "verified_by": "front desk"},
        )  # fmt: skip
        schedule = {
            "resourceType": "Schedule",
            "actor": [{"reference": f"Location/{location['id']}"}],
        }
        r = c.put(f"/v1/fhir/Schedule/s-{tag}", json=schedule, headers=fhir)
        assert r.status_code in (200, 201), r.text
        slot = {
            "resourceType": "Slot",
            "schedule": {"reference": f"Schedule/s-{tag}"},
            "status": "free",
            "start": (start + dt.timedelta(days=1)).isoformat(),
            "end": (start + dt.timedelta(days=1, minutes=30)).isoformat(),
        }
        r = c.put(f"/v1/fhir/Slot/t-{tag}", json=slot, headers=fhir)
        assert r.status_code in (200, 201), r.text
        inbox = c.get("/v1/inbox").json()["data"]
        deliveries = c.get("/v1/webhook-deliveries").json()["data"]
    ids = {
        "lead_id": lead["lead_id"],
        "location_id": location["id"],
        "service_id": service["id"],
        "team_id": team["id"],
        "member_id": member["id"],
        "ruleset_id": ruleset["id"],
        "subscription_id": subscription["id"],
        "source_id": source["id"],
        "appointment_id": appointment["id"],
        "key_id": api_key["id"],
        "request_id": erasure["id"],
        "schedule_id": f"s-{tag}",
        "slot_id": f"t-{tag}",
    }
    if inbox:
        ids["inbox_id"] = inbox[0]["id"]
    if deliveries:
        ids["delivery_id"] = deliveries[0]["id"]
    return ids


@dataclass
class Outcome:
    exit_code: int
    output: str
    statuses: Counter[int] = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)
    not_problems: list[str] = field(default_factory=list)

    @property
    def cases(self) -> int:
        return sum(self.statuses.values())


def _config(path: Path, key: str, ids: dict[str, str], max_examples: int) -> None:
    params = "\n".join(f'"path.{name}" = "{value}"' for name, value in sorted(ids.items()))
    path.write_text(
        textwrap.dedent(
            f"""\
            [headers]
            Authorization = "Bearer {key}"

            [generation]
            max-examples = {max_examples}
            database = "none"

            [phases.stateful]
            enabled = true

            [checks]
            enabled = false
            not_a_server_error.enabled = true
            response_schema_conformance.enabled = true
            problem_json_errors.enabled = true

            [parameters]
            """
        )
        + params
        + "\n"
    )


def run(
    base: str,
    key: str,
    ids: dict[str, str],
    work: Path,
    *,
    max_examples: int,
    max_time: int | None = None,
    seed_value: int | None = None,
    phases: str = "examples,coverage,fuzzing,stateful",
) -> Outcome:
    """`schemathesis run` over every operation; every answer tallied by the checks' hook."""
    config = work / "schemathesis.toml"
    tally = work / "tally.ndjson"
    tally.unlink(missing_ok=True)
    _config(config, key, ids, max_examples)
    # Fetched here, without the loader's 10 s limit: the first request builds the document.
    document = work / "openapi.json"
    document.write_bytes(httpx.get(f"{base}/openapi.json", timeout=300).content)
    args = [
        str(Path(sys.executable).parent / "schemathesis"),
        "--config-file", str(config),
        "run", str(document), "--url", base,
        "--phases", phases,
        "--workers", "1",
        "--no-color",
        "--request-timeout", "60",
        "--continue-on-failure",
    ]  # fmt: skip
    if max_time is not None:
        args += ["--max-time", str(max_time)]
    if seed_value is not None:
        args += ["--seed", str(seed_value)]
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": HOOKS,
        "LEAD_ROUTER_FUZZ_TALLY": str(tally),
        "PYTHONPATH": str(ROOT),
    }
    done = subprocess.run(
        args, capture_output=True, text=True, env=env, cwd=work, timeout=3600, check=False
    )
    outcome = Outcome(done.returncode, done.stdout + done.stderr)
    (work / "schemathesis.log").write_text(outcome.output)
    if tally.exists():
        for line in tally.read_text().splitlines():
            row = json.loads(line)
            outcome.statuses[row["status"]] += 1
            where = f"{row['method']} {row['path']} -> {row['status']} {row['type']}"
            if row["status"] >= 500:
                outcome.server_errors.append(where)
            elif row["status"] >= 400 and not row["problem"]:
                outcome.not_problems.append(where)
    return outcome
