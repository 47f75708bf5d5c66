"""Every error is `application/problem+json` (RFC 9457): the document says so per operation.

FastAPI publishes its own 422 shape (`HTTPValidationError`), which we never send; it is
replaced by the problem, and each operation lists the problems it can answer. The FHIR
availability routes answer an invalid resource with a FHIR `OperationOutcome` instead, as
FHIR clients expect.
"""

from __future__ import annotations

from typing import Any

from app.errors import PROBLEM_BASE, PROBLEM_JSON
from app.openapi.paths import operations

Schema = dict[str, Any]
FHIR_JSON = "application/fhir+json"

PROBLEM: Schema = {
    "title": "Problem",
    "type": "object",
    "description": "RFC 9457 problem details. `type` names the problem; some add members.",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string", "description": f"`{PROBLEM_BASE}…`"},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
        "instance": {"type": ["string", "null"]},
        "errors": {
            "type": "array",
            "description": "Field pointers and messages (never the submitted values).",
            "items": {
                "type": "object",
                "properties": {
                    "field": {"type": "string"},
                    "message": {"type": "string"},
                    "row": {
                        "type": ["integer", "null"],
                        "minimum": 1,
                        "description": "Spend import only: the data row, counted from 1 "
                        "without the CSV header; null for the whole body or the header.",
                    },
                },
            },
        },
    },
}

WHEN: dict[int, str] = {
    400: "Malformed: not JSON, nested too deep, or a bad header (`malformed-json`, `bad-request`).",
    401: "No API key, or one that is unknown, revoked or expired (`unauthorized`).",
    403: "The key lacks the scope this operation needs (`forbidden`).",
    404: "No such resource in this organisation (`not-found`).",
    406: "The `Accept` header asks for a format this operation does not offer.",
    409: "Conflicts with the current state, or the same `Idempotency-Key` is in flight "
    "(`conflict`, `idempotency-in-flight`).",
    413: "The body is larger than the limit (`payload-too-large`).",
    415: "The `Content-Type` is not one this operation reads (`unsupported-media-type`).",
    422: "The request does not match the schema, or breaks a rule of the API; `errors` "
    "names each field (`validation-error` and the operation's own types).",
    429: "Too many requests, or too many failed authentications from this address; see "
    "`Retry-After` (`rate-limited`).",
    503: "The database is unavailable; retry after `Retry-After` (`database-unavailable`).",
}

_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}


def _response(status: int) -> Schema:
    return {"description": WHEN[status], "content": {PROBLEM_JSON: {"schema": _PROBLEM_REF}}}


# Invalid FHIR availability resources: an OperationOutcome, as FHIR clients expect.
_OUTCOME_422: Schema = {
    "description": "The resource is invalid: a FHIR `OperationOutcome`, one issue per problem.",
    "content": {FHIR_JSON: {"schema": {"$ref": "#/components/schemas/FhirOperationOutcome"}}},
}
OUTCOME_ROUTES = {
    ("put", "/v1/fhir/Schedule/{schedule_id}"),
    ("put", "/v1/fhir/Slot/{slot_id}"),
    ("post", "/v1/fhir"),
}


def statuses(path: str, method: str, op: dict[str, Any]) -> list[int]:
    if path in ("/healthz", "/readyz"):
        return [503] if path == "/readyz" else []
    codes = [400, 422, 429, 503]
    if not path.startswith("/v1/webhooks/"):
        codes += [401, 403]
    else:
        codes += [401]
    if "{" in path:
        codes.append(404)
    if "requestBody" in op:
        codes += [409, 413, 415]
    elif method != "get":
        codes.append(409)
    ok = op.get("responses", {}).get("200", {}).get("content", {})
    if "text/csv" in ok:
        codes.append(406)
    return sorted(set(codes))


def install(doc: dict[str, Any]) -> None:

    components = doc["components"]
    components["schemas"]["Problem"] = PROBLEM
    for name in ("HTTPValidationError", "ValidationError"):
        components["schemas"].pop(name, None)
    for path, method, op in operations(doc):
        responses = op.setdefault("responses", {})
        for code in statuses(path, method, op):
            given = responses.get(str(code))
            if code == 422 and (method, path) in OUTCOME_ROUTES:
                responses["422"] = _OUTCOME_422
            elif given is None or (code == 422 and _is_fastapi_422(given)):
                responses[str(code)] = _response(code)
            else:
                _fill_problem_schema(given)
        for given in responses.values():
            _fill_problem_schema(given)


def _is_fastapi_422(response: Schema) -> bool:
    content = response.get("content", {}).get("application/json", {})
    return "HTTPValidationError" in str(content.get("schema", {}))


def _fill_problem_schema(response: Schema) -> None:
    content = response.get("content", {})
    problem = content.get(PROBLEM_JSON)
    if problem is not None and not problem.get("schema"):
        problem["schema"] = _PROBLEM_REF
    csv = content.get("text/csv")
    if csv is not None and not csv.get("schema"):
        csv["schema"] = {"type": "string"}
