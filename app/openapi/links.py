"""OpenAPI links: from each operation that makes an id to every operation that takes it.

A generated client (and a stateful fuzzer) learns from them where an id comes from: the
lead created by `POST /v1/leads` is the `lead_id` of its reads, attempts and appointments.
A target's other path parameters are filled from the creating request's own path (a member
made under `/v1/teams/{team_id}/members` shares its `team_id`); a target that needs one the
creator cannot give is not linked from it.
"""

from __future__ import annotations

from typing import Any

from app.openapi.paths import operations

# parameter -> (method, path, the answer's status, JSON pointer of the id in the answer)
Creator = tuple[str, str, str, str]
CREATORS: dict[str, list[Creator]] = {
    "lead_id": [("post", "/v1/leads", "201", "/lead_id")],
    "key_id": [("post", "/v1/api-keys", "201", "/id")],
    "source_id": [("post", "/v1/sources", "201", "/id")],
    "location_id": [("post", "/v1/locations", "201", "/id")],
    "service_id": [("post", "/v1/services", "201", "/id")],
    "team_id": [("post", "/v1/teams", "201", "/id")],
    "member_id": [("post", "/v1/teams/{team_id}/members", "201", "/id")],
    "ruleset_id": [("post", "/v1/routing/rulesets", "201", "/id")],
    "subscription_id": [("post", "/v1/webhook-subscriptions", "201", "/id")],
    "appointment_id": [("post", "/v1/leads/{lead_id}/appointments", "201", "/id")],
    "request_id": [("post", "/v1/erasure-requests", "201", "/id")],
    # Ids the scheduler chooses: the PUT that stores one answers with it.
    "schedule_id": [("put", "/v1/fhir/Schedule/{schedule_id}", "201", "/id")],
    "slot_id": [("put", "/v1/fhir/Slot/{slot_id}", "201", "/id")],
    # Made by others (a sender, the worker): the lists show them.
    "inbox_id": [("get", "/v1/inbox", "200", "/data/0/id")],
    "delivery_id": [("get", "/v1/webhook-deliveries", "200", "/data/0/id")],
}


def _path_params(op: dict[str, Any]) -> list[str]:
    return [p["name"] for p in op.get("parameters", []) if p.get("in") == "path"]


def install(doc: dict[str, Any]) -> None:

    ops = operations(doc)
    by_key = {(method, path): op for path, method, op in ops}
    for param, creators in CREATORS.items():
        for method, path, status, pointer in creators:
            creator = by_key.get((method, path))
            if creator is None:
                continue
            own = set(_path_params(creator))
            response = creator.get("responses", {}).get(status)
            if response is None:
                continue
            links = response.setdefault("links", {})
            for t_path, t_method, target in ops:
                needed = _path_params(target)
                if param not in needed or (t_method, t_path) == (method, path):
                    continue
                if any(p != param and p not in own for p in needed):
                    continue
                values = {
                    p: f"$response.body#{pointer}" if p == param else f"$request.path.{p}"
                    for p in needed
                }
                links[_name(target["operationId"])] = {
                    "operationId": target["operationId"],
                    "parameters": values,
                    "description": f"`{param}` of the {t_method.upper()} {t_path} operation.",
                }


def _name(operation_id: str) -> str:
    return operation_id[:1].upper() + operation_id[1:]
