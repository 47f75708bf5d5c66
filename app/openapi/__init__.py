"""The published OpenAPI document: the contract an integrator generates a client from.

FastAPI derives most of it from the routes. What it cannot see is added here, in one place:
the bodies of routes that read their own (the canonical lead, both appointment content types,
FHIR resources, the senders' webhooks), the bearer scheme, the problem types every
operation can answer, links from each create operation to the operations that take its id,
and the outbound events' payloads.
"""

from __future__ import annotations

import re

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from app.openapi import bodies, events, links, problems
from app.openapi.paths import Document, operations

# Reached without an API key: probes, and the senders' webhooks (their own signatures).
PUBLIC_PREFIXES = ("/healthz", "/readyz", "/v1/webhooks/")

BEARER = {
    "type": "http",
    "scheme": "bearer",
    "bearerFormat": "lr_…",
    "description": "An API key, `Authorization: Bearer lr_…`; its scopes decide what it may do.",
}


def build(app: FastAPI) -> Document:
    doc = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
    )
    components = doc.setdefault("components", {})
    components.setdefault("schemas", {})
    components["securitySchemes"] = {"bearer": BEARER}
    doc["security"] = [{"bearer": []}]
    for path, _, op in operations(doc):
        if path.startswith(PUBLIC_PREFIXES):
            op["security"] = []
    _short_operation_ids(doc)
    bodies.install(doc)
    problems.install(doc)
    links.install(doc)
    events.install(doc)
    return doc


def _short_operation_ids(doc: Document) -> None:
    """`create_lead`, not `create_lead_v1_leads_post`: generated clients name their functions
    after these. FastAPI's ids are the handler's name, the path and the method."""
    ops = operations(doc)
    short = {}
    for path, method, op in ops:
        suffix = re.sub(r"\W", "_", path) + "_" + method
        given = op["operationId"]
        short[given] = given[: -len(suffix)] if given.endswith(suffix) else given
    if len(set(short.values())) != len(short):
        return
    for _, _, op in ops:
        op["operationId"] = short[op["operationId"]]


def install(app: FastAPI) -> None:
    def openapi() -> Document:
        if app.openapi_schema is None:
            app.openapi_schema = build(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
