"""The outbound events, published as OpenAPI `webhooks`: what a subscriber's URL receives.

Every delivery is a Standard Webhooks POST of `{"type", "timestamp", "data"}`. `data` is thin
(ids, codes, statuses and times; never names, phones, emails or free text) and each event
may gain members: a receiver ignores what it does not know.
"""

from __future__ import annotations

from typing import Any

from app.outbox.service import EVENT_TYPES

Schema = dict[str, Any]

_UUID = {"type": "string", "format": "uuid"}
_UUID_OR_NULL = {"type": ["string", "null"], "format": "uuid"}
_TIME = {"type": "string", "format": "date-time"}
_TIME_OR_NULL = {"type": ["string", "null"], "format": "date-time"}
_TEXT_OR_NULL = {"type": ["string", "null"]}
_OWNER = {
    "type": "object",
    "properties": {"team_id": _UUID_OR_NULL, "member_id": _UUID_OR_NULL},
}

LEAD: Schema = {
    "lead_id": _UUID,
    "status": {"type": "string"},
    "source_id": _UUID_OR_NULL,
    "channel": {"type": "string"},
    "is_test": {"type": "boolean"},
    "received_at": _TIME,
    "service_code": _TEXT_OR_NULL,
    "location_id": _UUID_OR_NULL,
    "score_band": _TEXT_OR_NULL,
    "urgency": _TEXT_OR_NULL,
    "emergency": {"type": ["boolean", "null"]},
    "team_id": _UUID_OR_NULL,
    "member_id": _UUID_OR_NULL,
    "routed_at": _TIME_OR_NULL,
    "sla_due_at": _TIME_OR_NULL,
}
_APPOINTMENT: Schema = {
    "lead_id": _UUID,
    "appointment_id": _UUID,
    "status": {"type": "string"},
    "lead_status": {"type": "string"},
}
_CONSENT: Schema = {"lead_id": _UUID, "via": {"type": "string"}}

DATA: dict[str, tuple[Schema, str]] = {
    "lead.received": (LEAD, "A lead was stored (not on a resubmission)."),
    "lead.routed": (
        {
            **LEAD,
            "rerouted": {"type": "boolean"},
            "previous": {"type": "object"},
            "offered_slots": {"type": "array", "items": {"type": "object"}},
        },
        "A lead was given to a team (and member); again with `rerouted` after new facts.",
    ),
    "lead.reassigned": (
        {**LEAD, "from": _OWNER, "reason": {"type": "string"}, "escalation": {"type": "integer"}},
        "A person or an SLA escalation moved the lead; `from` is the previous owner.",
    ),
    "lead.sla_breached": (
        {**LEAD, "missed_due_at": _TIME_OR_NULL, "escalation_count": {"type": "integer"}},
        "Nobody reached the lead in time.",
    ),
    "lead.erased": (
        {
            "lead_id": _UUID,
            "erased_at": _TIME,
            "reason": _TEXT_OR_NULL,
            "status": {"type": "string"},
        },
        "The lead's personal data was erased.",
    ),
    "contact.attempted": (
        {
            "lead_id": _UUID,
            "attempt_id": _UUID,
            "channel": {"type": "string"},
            "direction": {"type": "string"},
            "outcome": {"type": "string"},
            "origin": {"type": "string"},
            "member_id": _UUID_OR_NULL,
            "started_at": _TIME,
            "ended_at": _TIME_OR_NULL,
            "first_attempt": {"type": "boolean"},
            "policy_rule": _TEXT_OR_NULL,
        },
        "A contact attempt was recorded.",
    ),
    "consent.revoked": (
        {
            **_CONSENT,
            "channels": {"type": "array", "items": {"type": "string"}},
            "purposes": {"type": "array", "items": {"type": "string"}},
        },
        "The person withdrew consent for these channels and purposes.",
    ),
    "consent.granted": (
        {
            "lead_id": _UUID,
            "channel": {"type": "string"},
            "purpose": {"type": "string"},
            "lifted": {"type": "boolean"},
        },
        "A new explicit grant; `lifted` when it ended a revocation.",
    ),
    "appointment.booked": (_APPOINTMENT, "An appointment was recorded for the lead."),
    "appointment.updated": (
        {
            **_APPOINTMENT,
            "previous_status": {"type": "string"},
            "changed": {"type": "array", "items": {"type": "string"}},
        },
        "An appointment changed; `changed` names the fields.",
    ),
}


def _name(event_type: str) -> str:
    return "Event" + "".join(p.capitalize() for p in event_type.replace("_", ".").split("."))


def install(doc: dict[str, Any]) -> None:
    schemas = doc["components"]["schemas"]
    hooks: dict[str, Any] = {}
    for event_type in EVENT_TYPES:
        properties, about = DATA[event_type]
        name = _name(event_type)
        schemas[name] = {
            "title": name,
            "type": "object",
            "description": about,
            "required": ["type", "timestamp", "data"],
            "properties": {
                "type": {"type": "string", "const": event_type},
                "timestamp": _TIME,
                "data": {"type": "object", "required": ["lead_id"], "properties": properties},
            },
        }
        hooks[event_type] = {
            "post": {
                "summary": about,
                "operationId": "event_" + event_type.replace(".", "_"),
                "description": "Headers `webhook-id` (deduplicate on it), `webhook-timestamp` "
                "and `webhook-signature` (Standard Webhooks, HMAC-SHA256 with the secret).",
                "security": [],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}
                    },
                },
                "responses": {"2XX": {"description": "Received; any other answer is retried."}},
            }
        }
    doc["webhooks"] = hooks
