"""JSON Schemas of the FHIR R4 resources we read, as far as we read them.

The FHIR routes parse their bodies by hand (a FHIR sender's resource carries much we ignore),
so these schemas are written beside the parsers they describe: what a parser requires is
required here, what it ignores is left open (`additionalProperties` is FHIR's own business).
"""

from __future__ import annotations

from typing import Any

from app.appointments.transitions import STATUSES as APPOINTMENT_STATUSES
from app.availability.core import STATUSES as SLOT_STATUSES
from app.availability.fhir import FHIR_ID, INSTANT
from app.fields import EARLIEST_YEAR, LATEST_YEAR

Schema = dict[str, Any]


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


INSTANT_SCHEMA: Schema = {
    "type": "string",
    "pattern": INSTANT.pattern,
    "format": "date-time",
    "description": f"A FHIR instant with a time zone, years {EARLIEST_YEAR} to {LATEST_YEAR}.",
}
ID_SCHEMA: Schema = {"type": "string", "pattern": FHIR_ID.pattern}
CODING: Schema = {
    "type": "object",
    "properties": {
        "system": {"type": "string"},
        "code": {"type": "string", "minLength": 1, "maxLength": 64},
        "display": {"type": "string"},
    },
}
CONCEPT: Schema = {
    "type": "object",
    "properties": {"coding": {"type": "array", "items": CODING}, "text": {"type": "string"}},
}
META: Schema = {
    "type": "object",
    "description": "`versionId` or `lastUpdated` order changes: an older one changes nothing.",
    "properties": {
        "versionId": {"type": "string", "minLength": 1, "maxLength": 64},
        "lastUpdated": INSTANT_SCHEMA,
    },
}
IDENTIFIER: Schema = {
    "type": "object",
    "properties": {
        "system": {"type": "string", "maxLength": 200},
        "value": {"type": "string", "minLength": 1, "maxLength": 200},
    },
}
REFERENCE: Schema = {
    "type": "object",
    "properties": {
        "reference": {"type": "string", "minLength": 1, "maxLength": 200},
        "type": {"type": "string"},
        "identifier": IDENTIFIER,
        "display": {"type": "string"},
    },
}

APPOINTMENT: Schema = {
    "title": "FhirAppointment",
    "type": "object",
    "description": (
        "A FHIR R4 `Appointment`. We keep status, start/end, the first identifier (with "
        "its `system`), the cancellation reason's code, the service type, the Location "
        "participant and the Practitioner participant as sent. `start` and `end` come "
        "together; `end` is after `start`; `fulfilled` not before `start`."
    ),
    "required": ["resourceType", "status", "participant"],
    "properties": {
        "resourceType": {"type": "string", "const": "Appointment"},
        "id": {"type": "string", "maxLength": 200},
        "meta": META,
        "identifier": {"type": "array", "items": IDENTIFIER},
        "status": {"type": "string", "enum": list(APPOINTMENT_STATUSES)},
        "cancelationReason": CONCEPT,
        "serviceType": {"type": "array", "items": CONCEPT},
        "appointmentType": CONCEPT,
        "start": INSTANT_SCHEMA,
        "end": INSTANT_SCHEMA,
        "slot": {"type": "array", "items": REFERENCE},
        "participant": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["status", "actor"],
                "properties": {
                    "status": {
                        "type": "string",
                        "enum": ["accepted", "declined", "tentative", "needs-action"],
                    },
                    "actor": REFERENCE,
                    "type": {"type": "array", "items": CONCEPT},
                },
            },
        },
    },
    "dependentRequired": {"start": ["end"], "end": ["start"]},
}

SCHEDULE: Schema = {
    "title": "FhirSchedule",
    "type": "object",
    "description": (
        "A FHIR R4 `Schedule`. An `actor` names the location (`Location/{our id}`, or a "
        "Location identifier registered in the location's `scheduler_ids`), another "
        "optionally a practitioner; `serviceType` codes name services."
    ),
    "required": ["resourceType", "actor"],
    "properties": {
        "resourceType": {"type": "string", "const": "Schedule"},
        "id": ID_SCHEMA,
        "meta": META,
        "active": {"type": "boolean"},
        "actor": {"type": "array", "minItems": 1, "items": REFERENCE},
        "serviceType": {"type": "array", "items": CONCEPT},
    },
}

SLOT: Schema = {
    "title": "FhirSlot",
    "type": "object",
    "description": "A FHIR R4 `Slot` of a Schedule sent before; `end` is after `start`.",
    "required": ["resourceType", "schedule", "status", "start", "end"],
    "properties": {
        "resourceType": {"type": "string", "const": "Slot"},
        "id": ID_SCHEMA,
        "meta": META,
        "schedule": {
            "type": "object",
            "required": ["reference"],
            "properties": {
                "reference": {"type": "string", "pattern": "^Schedule/[A-Za-z0-9\\-.]{1,64}$"}
            },
        },
        "status": {"type": "string", "enum": list(SLOT_STATUSES)},
        "start": INSTANT_SCHEMA,
        "end": INSTANT_SCHEMA,
        "serviceType": {"type": "array", "items": CONCEPT},
        "appointmentType": CONCEPT,
    },
}


def _entry(kind: str) -> Schema:
    return {
        "type": "object",
        "required": ["request", "resource"],
        "properties": {
            "request": {
                "type": "object",
                "required": ["method", "url"],
                "properties": {
                    "method": {"type": "string", "const": "PUT"},
                    "url": {"type": "string", "pattern": f"^{kind}/[A-Za-z0-9\\-.]{{1,64}}$"},
                },
            },
            "resource": _ref(f"Fhir{kind}"),
        },
    }


BUNDLE: Schema = {
    "title": "FhirBundle",
    "type": "object",
    "description": "A `transaction` or `batch` Bundle of `PUT Schedule/{id}` and `PUT Slot/{id}`.",
    "required": ["resourceType", "type"],
    "properties": {
        "resourceType": {"type": "string", "const": "Bundle"},
        "type": {"type": "string", "enum": ["transaction", "batch"]},
        "entry": {"type": "array", "items": {"oneOf": [_entry("Schedule"), _entry("Slot")]}},
    },
}

OPERATION_OUTCOME: Schema = {
    "title": "FhirOperationOutcome",
    "type": "object",
    "description": "Why a FHIR resource was refused: one issue per problem, by FHIRPath.",
    "required": ["resourceType", "issue"],
    "properties": {
        "resourceType": {"type": "string", "const": "OperationOutcome"},
        "issue": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["severity", "code"],
                "properties": {
                    "severity": {"type": "string"},
                    "code": {"type": "string"},
                    "diagnostics": {"type": "string"},
                    "expression": {"type": "array", "items": {"type": "string"}},
                },
            },
        },
    },
}

# Whatever resource a FHIR answer carries (a Schedule, a Slot, a response Bundle).
RESOURCE: Schema = {
    "title": "FhirResource",
    "type": "object",
    "required": ["resourceType"],
    "properties": {"resourceType": {"type": "string"}},
}

SCHEMAS: dict[str, Schema] = {
    "FhirAppointment": APPOINTMENT,
    "FhirSchedule": SCHEDULE,
    "FhirSlot": SLOT,
    "FhirBundle": BUNDLE,
    "FhirOperationOutcome": OPERATION_OUTCOME,
    "FhirResource": RESOURCE,
}
