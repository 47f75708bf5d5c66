"""Schemathesis hooks for `tests.support.fuzz`: every 4xx is a problem, and every answer is
tallied (one JSON line each, to `LEAD_ROUTER_FUZZ_TALLY`) so a run reports its figures."""

from __future__ import annotations

import json
import os
from typing import Any

import schemathesis

PROBLEM = "application/problem+json"
FHIR = "application/fhir+json"
# Where the document answers an invalid FHIR resource with an OperationOutcome instead.
OUTCOME_ROUTES = {
    ("PUT", "/v1/fhir/Schedule/{schedule_id}"),
    ("PUT", "/v1/fhir/Slot/{slot_id}"),
    ("POST", "/v1/fhir"),
}


def _is_problem(method: str, path: str, status: int, content_type: str, body: Any) -> bool:
    if content_type.startswith(FHIR) and status == 422 and (method, path) in OUTCOME_ROUTES:
        return isinstance(body, dict) and body.get("resourceType") == "OperationOutcome"
    if not content_type.startswith(PROBLEM) or not isinstance(body, dict):
        return False
    return body.get("status") == status and isinstance(body.get("type"), str)


@schemathesis.check
def problem_json_errors(ctx: Any, response: Any, case: Any) -> bool | None:
    method, path = case.operation.method.upper(), case.operation.path
    status = response.status_code
    content_type = (response.headers.get("content-type") or [""])[0]
    try:
        body = json.loads(response.content or b"null")
    except ValueError:
        body = None
    problem = _is_problem(method, path, status, content_type, body)
    tally = os.environ.get("LEAD_ROUTER_FUZZ_TALLY")
    if tally:
        row = {"method": method, "path": path, "status": status, "type": content_type,
               "problem": problem}  # fmt: skip
        with open(tally, "a") as out:
            out.write(json.dumps(row) + "\n")
    if 400 <= status < 500 and not problem:
        raise AssertionError(f"{status} answered as {content_type!r}, not a problem")
    return None
