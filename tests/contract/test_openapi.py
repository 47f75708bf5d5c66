"""The published OpenAPI document is a contract a generator and a person can use."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from app.openapi.links import CREATORS
from app.outbox.service import EVENT_TYPES
from tests.conftest import Org
from tests.intake.helpers import person

METHODS = ("get", "put", "post", "patch", "delete")
PUBLIC = ("/healthz", "/readyz", "/v1/webhooks/{source_id}")
PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}


@pytest.fixture
async def doc(client: httpx.AsyncClient) -> dict[str, Any]:
    r = await client.get("/openapi.json")
    assert r.status_code == 200
    return dict(r.json())


def ops(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    paths = doc["paths"].items()
    return [(p, m, op) for p, item in paths for m, op in item.items() if m in METHODS]


def path_params(op: dict[str, Any]) -> set[str]:
    return {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}


async def test_the_document_is_valid_openapi(doc: dict[str, Any]) -> None:
    validate(doc)
    assert doc["openapi"].startswith("3.1")


async def test_every_schema_has_one_name(doc: dict[str, Any]) -> None:
    schemas = doc["components"]["schemas"]
    # FastAPI falls back to module-qualified names when two models share one.
    assert not [n for n in schemas if "__" in n]
    titles = [s.get("title", n) for n, s in schemas.items()]
    assert sorted({t for t in titles if titles.count(t) > 1}) == []
    assert "RescoreOut" in schemas and "NotQualifiedReasonOut" in schemas


async def test_every_key_operation_names_the_bearer_scheme(doc: dict[str, Any]) -> None:
    assert doc["components"]["securitySchemes"]["bearer"] == {
        **doc["components"]["securitySchemes"]["bearer"],
        "type": "http",
        "scheme": "bearer",
    }
    assert doc["security"] == [{"bearer": []}]
    for path, _, op in ops(doc):
        assert ("security" in op) == (path in PUBLIC), path
        if path in PUBLIC:
            assert op["security"] == []


def _schemas_of(body: dict[str, Any]) -> dict[str, Any]:
    return {ctype: media.get("schema") for ctype, media in body["content"].items()}


async def test_every_body_is_described(doc: dict[str, Any]) -> None:
    for path, method, op in ops(doc):
        body = op.get("requestBody")
        if body is None:
            continue
        for ctype, schema in _schemas_of(body).items():
            assert schema, (method, path, ctype)
    paths = doc["paths"]
    assert _schemas_of(paths["/v1/leads"]["post"]["requestBody"]) == {
        "application/json": {"$ref": "#/components/schemas/CanonicalLead"}
    }
    appointment = _schemas_of(paths["/v1/leads/{lead_id}/appointments"]["post"]["requestBody"])
    assert appointment == {
        "application/json": {"$ref": "#/components/schemas/AppointmentIn"},
        "application/fhir+json": {"$ref": "#/components/schemas/FhirAppointment"},
    }
    put = _schemas_of(paths["/v1/fhir/Appointment/{appointment_id}"]["put"]["requestBody"])
    assert put["application/fhir+json"] == {"$ref": "#/components/schemas/FhirAppointment"}
    hooks = _schemas_of(paths["/v1/webhooks/{source_id}"]["post"]["requestBody"])
    assert set(hooks) == {"application/json", "application/x-www-form-urlencoded"}
    lead = doc["components"]["schemas"]["CanonicalLead"]
    assert lead["additionalProperties"] is False
    assert doc["components"]["schemas"]["FhirAppointment"]["properties"]["status"]["enum"]


async def test_errors_are_documented_as_problems(doc: dict[str, Any]) -> None:
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    fhir_outcomes = {"/v1/fhir", "/v1/fhir/Schedule/{schedule_id}", "/v1/fhir/Slot/{slot_id}"}
    for path, method, op in ops(doc):
        if path in ("/healthz", "/readyz"):
            continue
        responses = op["responses"]
        for code in ("400", "422", "429", "503"):
            content = responses[code]["content"]
            if code == "422" and path in fhir_outcomes and method in ("put", "post"):
                assert "application/fhir+json" in content
                continue
            assert content == {"application/problem+json": {"schema": PROBLEM_REF}}, (
                method,
                path,
                code,
            )
        if path_params(op):
            assert "404" in responses, (method, path)


async def test_every_path_parameter_is_reached_by_a_link(doc: dict[str, Any]) -> None:
    by_id = {op["operationId"]: (path, method, op) for path, method, op in ops(doc)}
    reached: dict[tuple[str, str], set[str]] = {}
    for _, _, op in ops(doc):
        for response in op["responses"].values():
            for link in response.get("links", {}).values():
                path, method, target = by_id[link["operationId"]]
                # A link fills every path parameter of its target.
                assert set(link["parameters"]) == path_params(target), link
                reached.setdefault((method, path), set()).update(link["parameters"])
    unreached = [
        (method, path)
        for path, method, op in ops(doc)
        if path_params(op)
        and (method, path) not in reached
        # The creating PUT of a scheduler's own id has no earlier operation to learn it from.
        and not re.fullmatch(r"/v1/fhir/(Schedule|Slot)/\{\w+\}", path)
    ]
    assert unreached == []
    assert set(CREATORS) >= {p for _, _, op in ops(doc) for p in path_params(op)}
    lead_links = doc["paths"]["/v1/leads"]["post"]["responses"]["201"]["links"]
    targets = {by_id[link["operationId"]][0] for link in lead_links.values()}
    assert {"/v1/leads/{lead_id}", "/v1/leads/{lead_id}/contact-attempts"} <= targets


async def test_outbound_events_are_documented(doc: dict[str, Any]) -> None:
    assert set(doc["webhooks"]) == set(EVENT_TYPES)
    for event_type, item in doc["webhooks"].items():
        ref = item["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        schema = doc["components"]["schemas"][ref.rsplit("/", 1)[1]]
        assert schema["properties"]["type"]["const"] == event_type
        assert schema["required"] == ["type", "timestamp", "data"]


async def test_docs_work_offline(client: httpx.AsyncClient) -> None:
    for page in ("/docs", "/redoc"):
        r = await client.get(page)
        assert r.status_code == 200
        urls = re.findall(r"""(?:src|href|url)\s*[:=]\s*['"]([^'"]+)['"]""", r.text)
        assets = [u for u in urls if not u.startswith("/openapi.json")]
        assert assets, r.text
        for url in assets:
            # Nothing from another host: every asset is the service's own.
            assert url.startswith("/"), url
            got = await client.get(url)
            assert got.status_code == 200, url
            assert len(got.content) > 1000 or url.endswith(".png"), url


@pytest.mark.parametrize(
    ("schema", "url", "body"),
    [
        ("LocationCreate", "/v1/locations", {"name": "Loop", "latitude": 41.88}),
        ("AppointmentIn", "/v1/leads/{lead_id}/appointments",
         {"status": "booked", "start": "2026-03-10T14:00:00Z"}),
    ],
)  # fmt: skip
async def test_fields_that_come_in_pairs_say_so_and_are_refused_alone(
    doc: dict[str, Any], client: httpx.AsyncClient, org: Org, schema: str, url: str, body: Any
) -> None:
    pairs = doc["components"]["schemas"][schema]["dependentRequired"]
    [(alone, [needs])] = [(k, v) for k, v in pairs.items() if k in body]
    assert pairs[needs] == [alone]
    lead = await client.post("/v1/leads", json=person(8711), headers=org.headers)
    r = await client.post(
        url.format(lead_id=lead.json()["lead_id"]), json=body, headers=org.headers
    )
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem")


# What the rest of each body needs.
REST_OF: dict[str, dict[str, str]] = {
    "ErasureRequestIn": {"received_at": "2026-01-05T09:00:00Z", "verified_by": "desk"},
    "RevocationIn": {"via": "agent"},
    "ReassignIn": {"reason": "x"},
}


@pytest.mark.parametrize(
    ("schema", "url", "good", "bad"),
    [
        ("ErasureRequestIn", "/v1/erasure-requests",
         {"email": "a@example.com"}, {"phone": None, "email": ""}),
        ("RevocationIn", "/v1/consent/revocations",
         {"phone": "+13125550100"}, {"lead_id": None}),
        ("ClaimIn", "/v1/handoffs/claim",
         {"member_external_id": "x"}, {"member_id": None, "member_external_id": None}),
        ("ReassignIn", "/v1/leads/{lead_id}/reassign",
         {"team_id": "0b4c2f63-4f55-4d4b-9d52-3f0a8f0a1c11"},
         {"team_id": "0b4c2f63-4f55-4d4b-9d52-3f0a8f0a1c11",
          "member_id": "0b4c2f63-4f55-4d4b-9d52-3f0a8f0a1c12"}),
    ],
)  # fmt: skip
async def test_one_of_these_fields_is_published_as_the_api_checks_it(
    doc: dict[str, Any],
    client: httpx.AsyncClient,
    org: Org,
    schema: str,
    url: str,
    good: dict[str, Any],
    bad: dict[str, Any],
) -> None:
    """A body missing the field the rule wants fails the published schema and the API alike."""
    rest = REST_OF.get(schema, {})
    validator = Draft202012Validator(
        {"$ref": f"#/components/schemas/{schema}", "components": doc["components"]}
    )
    assert validator.is_valid({**rest, **good})
    assert not validator.is_valid({**rest, **bad})
    lead = await client.post("/v1/leads", json=person(8712), headers=org.headers)
    r = await client.post(
        url.format(lead_id=lead.json()["lead_id"]), json={**rest, **bad}, headers=org.headers
    )
    assert r.status_code == 422, r.text
