"""Request bodies of the routes that read their own body.

Those routes take the raw body because one URL speaks several formats (canonical JSON or
FHIR, JSON or CSV, each sender's webhook), so FastAPI publishes no schema for them. The
schemas here are the models and parsers those routes validate with.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from app.appointments.schemas import AppointmentIn
from app.leads.canonical import CanonicalLead
from app.openapi import fhir, inbound
from app.openapi.paths import operations
from app.reports.spend import SpendIn

Schema = dict[str, Any]
FHIR_JSON = "application/fhir+json"
REF = "#/components/schemas/{model}"


def _ref(name: str) -> Schema:
    return {"$ref": REF.format(model=name)}


def _json(name: str) -> Schema:
    return {"application/json": {"schema": _ref(name)}}


def _fhir(name: str) -> Schema:
    # FHIR senders may say either; both are read the same.
    return {FHIR_JSON: {"schema": _ref(name)}, "application/json": {"schema": _ref(name)}}


BODIES: dict[tuple[str, str], Schema] = {
    ("post", "/v1/leads"): _json("CanonicalLead"),
    ("post", "/v1/leads/{lead_id}/appointments"): {
        "application/json": {"schema": _ref("AppointmentIn")},
        FHIR_JSON: {"schema": _ref("FhirAppointment")},
    },
    ("put", "/v1/fhir/Appointment/{appointment_id}"): _fhir("FhirAppointment"),
    ("put", "/v1/fhir/Schedule/{schedule_id}"): _fhir("FhirSchedule"),
    ("put", "/v1/fhir/Slot/{slot_id}"): _fhir("FhirSlot"),
    ("post", "/v1/fhir"): _fhir("FhirBundle"),
    ("post", "/v1/spend"): {
        "application/json": {"schema": {"type": "array", "items": _ref("SpendIn")}},
        "text/csv": {
            "schema": {
                "type": "string",
                "description": "A header `date,source,campaign,amount,currency`, then rows.",
            }
        },
    },
    ("post", "/v1/webhooks/{source_id}"): inbound.CONTENT,
}


def _answer(about: str, content: Schema) -> Schema:
    return {"description": about, "content": content}


_FHIR_ONLY = {FHIR_JSON: {"schema": _ref("FhirResource")}}
_ACCEPTED = {"application/json": {"schema": _ref("LeadAccepted")}}
_APPOINTMENT = {
    "application/json": {"schema": _ref("AppointmentOut")},
    FHIR_JSON: {"schema": _ref("FhirAppointment")},
}
_FHIR_APPOINTMENT = {FHIR_JSON: {"schema": _ref("FhirAppointment")}}

# Answers of the routes that build their own response: FHIR resources, the intake summary.
ANSWERS: dict[tuple[str, str], dict[str, Schema]] = {
    ("post", "/v1/leads"): {
        "201": _answer("A new lead.", _ACCEPTED),
        "200": _answer("A resubmission, linked to the person's lead.", _ACCEPTED),
    },
    ("post", "/v1/leads/{lead_id}/appointments"): {
        "201": _answer("A new appointment (FHIR when sent as FHIR).", _APPOINTMENT),
        "200": _answer("Applied to the appointment with this `external_id`.", _APPOINTMENT),
    },
    ("get", "/v1/fhir/Appointment/{appointment_id}"): {
        "200": _answer("The appointment.", _FHIR_APPOINTMENT)
    },
    ("put", "/v1/fhir/Appointment/{appointment_id}"): {
        "200": _answer("The appointment after the change.", _FHIR_APPOINTMENT)
    },
    ("get", "/v1/fhir/Schedule/{schedule_id}"): {"200": _answer("The schedule.", _FHIR_ONLY)},
    ("get", "/v1/fhir/Slot/{slot_id}"): {"200": _answer("The slot.", _FHIR_ONLY)},
    ("put", "/v1/fhir/Schedule/{schedule_id}"): {
        "201": _answer("Stored for the first time.", _FHIR_ONLY),
        "200": _answer("Replaced, or older than the version held.", _FHIR_ONLY),
    },
    ("put", "/v1/fhir/Slot/{slot_id}"): {
        "201": _answer("Stored for the first time.", _FHIR_ONLY),
        "200": _answer("Replaced, or older than the version held.", _FHIR_ONLY),
    },
    ("post", "/v1/fhir"): {"200": _answer("The response Bundle, an entry each.", _FHIR_ONLY)},
}

LEAD_ACCEPTED: Schema = {
    "title": "LeadAccepted",
    "type": "object",
    "description": "The lead's id and status, and what the pipeline decided (routing, score).",
    "required": ["lead_id", "status", "resubmission"],
    "properties": {
        "lead_id": {"type": "string", "format": "uuid"},
        "status": {"type": "string"},
        "resubmission": {"type": "boolean"},
    },
}

MODELS: tuple[type[BaseModel], ...] = (CanonicalLead, AppointmentIn, SpendIn)


def _model_schemas() -> dict[str, Schema]:
    _, top = models_json_schema([(m, "validation") for m in MODELS], ref_template=REF)
    return dict(top.get("$defs", {}))


def install(doc: dict[str, Any]) -> None:
    """Publish the body schemas and attach them. A model that a response already publishes
    under its name in its answer's shape is published here as `{name}Input`."""

    schemas = doc["components"]["schemas"]
    extra = {
        **_model_schemas(),
        **fhir.SCHEMAS,
        **inbound.SCHEMAS,
        "LeadAccepted": LEAD_ACCEPTED,
    }
    renamed = {n: f"{n}Input" for n, v in extra.items() if n in schemas and schemas[n] != v}
    for name, schema in extra.items():
        schema = _renamed_refs(schema, renamed)
        if name in renamed:
            # Generators name classes by `title`: it must be unique too.
            schema = {**schema, "title": renamed[name]}
        schemas[renamed.get(name, name)] = schema
    for path, method, op in operations(doc):
        content = BODIES.get((method, path))
        if content is not None:
            op["requestBody"] = {"required": True, "content": _renamed_refs(content, renamed)}
        answers = ANSWERS.get((method, path))
        if answers is not None:
            responses = op.setdefault("responses", {})
            for code in [c for c in responses if c.startswith("2") and c not in answers]:
                del responses[code]
            responses.update(answers)


def _renamed_refs(node: Any, renamed: dict[str, str]) -> Any:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            name = ref.rsplit("/", 1)[1]
            return {**node, "$ref": REF.format(model=renamed.get(name, name))}
        return {k: _renamed_refs(v, renamed) for k, v in node.items()}
    if isinstance(node, list):
        return [_renamed_refs(v, renamed) for v in node]
    return node
