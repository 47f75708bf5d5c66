"""What each kind of source posts to its webhook URL (`POST /v1/webhooks/{source_id}`).

The source's `kind` decides how the body is read, not the body itself, so the document lists
every sender's format. Vendors add fields over time: their objects stay open, and only what
the adapter needs is required. Each sender authenticates with its own scheme (see the source
kinds in the README), which is why the operation has no bearer requirement.
"""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


META: Schema = {
    "title": "MetaLeadgenNotification",
    "type": "object",
    "description": "Meta Lead Ads: ids only; the answers are fetched from the Graph API.",
    "required": ["object", "entry"],
    "properties": {
        "object": {"type": "string", "const": "page"},
        "entry": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "id": {"type": "string"},
                    "time": {"type": "integer"},
                    "changes": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "field": {"type": "string", "const": "leadgen"},
                                "value": {
                                    "type": "object",
                                    "properties": {
                                        "leadgen_id": {"type": "string"},
                                        "page_id": {"type": "string"},
                                        "form_id": {"type": "string"},
                                        "ad_id": {"type": "string"},
                                        "created_time": {"type": "integer"},
                                    },
                                },
                            },
                        },
                    },
                },
            },
        },
    },
}

GOOGLE: Schema = {
    "title": "GoogleLeadFormWebhook",
    "type": "object",
    "description": "Google Ads lead form `WebhookLead`; `google_key` authenticates it.",
    "required": ["lead_id", "google_key"],
    "properties": {
        "lead_id": {"type": "string"},
        "google_key": {"type": "string"},
        "form_id": {"type": ["integer", "string"]},
        "campaign_id": {"type": ["integer", "string"]},
        "gcl_id": {"type": "string"},
        "is_test": {"type": "boolean"},
        "lead_submit_time": {"type": "string"},
        "user_column_data": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "column_id": {"type": "string"},
                    "column_name": {"type": "string"},
                    "string_value": {"type": "string"},
                },
            },
        },
    },
}

TYPEFORM: Schema = {
    "title": "TypeformWebhook",
    "type": "object",
    "description": "Typeform `form_response`, mapped by each field's `ref`.",
    "required": ["event_type", "form_response"],
    "properties": {
        "event_id": {"type": "string"},
        "event_type": {"type": "string", "const": "form_response"},
        "form_response": {
            "type": "object",
            "properties": {
                "token": {"type": "string"},
                "submitted_at": {"type": "string"},
                "hidden": {"type": "object", "additionalProperties": {"type": "string"}},
                "answers": {"type": "array", "items": {"type": "object"}},
            },
        },
    },
}

CALLRAIL: Schema = {
    "title": "CallRailPostCall",
    "type": "object",
    "description": "CallRail post-call webhook: an inbound call; other events are ignored.",
    "required": ["resource_id"],
    "properties": {
        "resource_id": {"type": "string"},
        "customer_phone_number": {"type": "string"},
        "customer_name": {"type": "string"},
        "start_time": {"type": "string"},
        "duration": {"type": ["integer", "string"]},
        "answered": {"type": ["boolean", "string"]},
        "direction": {"type": "string"},
        "tracking_phone_number": {"type": "string"},
    },
}

FORM: Schema = {
    "title": "FormWebhook",
    "type": "object",
    "description": (
        "Form-encoded senders: Unbounce (`data.json`, `page_id`), Twilio call status "
        "(`CallSid`, `CallStatus`, signed with `X-Twilio-Signature`), and web forms whose "
        "field names are canonical dotted paths."
    ),
    "additionalProperties": {"type": "string"},
}

SCHEMAS: dict[str, Schema] = {
    "MetaLeadgenNotification": META,
    "GoogleLeadFormWebhook": GOOGLE,
    "TypeformWebhook": TYPEFORM,
    "CallRailPostCall": CALLRAIL,
    "FormWebhook": FORM,
}

CONTENT: Schema = {
    "application/json": {
        "schema": {
            "description": (
                "Web forms, partners and the API send a canonical lead (or, with a mapping, "
                "their own field names); the vendors send their own formats."
            ),
            "anyOf": [
                _ref("CanonicalLead"),
                _ref("MetaLeadgenNotification"),
                _ref("GoogleLeadFormWebhook"),
                _ref("TypeformWebhook"),
                _ref("CallRailPostCall"),
                {"type": "object", "description": "A mapped sender's own fields."},
            ],
        }
    },
    "application/x-www-form-urlencoded": {"schema": _ref("FormWebhook")},
}
