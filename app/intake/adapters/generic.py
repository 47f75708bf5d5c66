"""Web forms, referral partners and the JSON API.

Without a mapping the body must already be a canonical lead (JSON) or carry
canonical dotted paths as form field names, and unknown fields are rejected.
With a mapping, `{sender field (dotted for nested JSON): canonical path}`
adds the sender's names to the canonical ones: a field under a canonical name (or a form's
canonical dotted path) is still read as that field, the mapped field winning where both
give one; everything else scalar goes to `custom`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any, Literal

from pydantic import field_validator

from app import signatures as sig
from app.intake.adapters.base import (
    Adapter,
    AdapterError,
    Parsed,
    ParsedItem,
    RawDelivery,
    SourceSettings,
    add_custom,
    body_digest,
    build_lead,
    form_dict,
    get_path,
    is_form,
    load_json_object,
    secret,
    set_path,
)
from app.leads.canonical import CanonicalLead

GenericChannel = Literal["web_form", "partner", "api"]
MAX_EXTERNAL_ID = 200
# Names a mapped delivery may still use as they are (`custom` collects the rest).
CANONICAL = frozenset(CanonicalLead.model_fields) - {"custom"}


def _body(delivery: RawDelivery) -> dict[str, Any]:
    if is_form(delivery.content_type):
        return dict(form_dict(delivery.body))
    return load_json_object(delivery.body)


def _from_form_paths(body: Mapping[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for key, value in body.items():
        set_path(data, key, value)
    return data


def _mapped(body: Mapping[str, Any], mapping: Mapping[str, str]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    used_roots: set[str] = set()
    for sender_field, path in mapping.items():
        value = get_path(body, sender_field)
        used_roots.add(sender_field.split(".", 1)[0])
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        set_path(data, path, value)
    for key, value in body.items():
        if key in used_roots:
            continue
        if key.split(".", 1)[0] in CANONICAL:
            _fill(data, key, value)
        else:
            add_custom(data, key, value)
    return data


def _fill(data: dict[str, Any], path: str, value: Any) -> None:
    """A canonical field the mapping did not already give (the mapped one wins)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return
    current = get_path(data, path)
    if current is None:
        set_path(data, path, value)
    elif isinstance(current, dict) and isinstance(value, dict):
        for key, inner in value.items():
            if isinstance(key, str) and key and "." not in key:
                _fill(data, f"{path}.{key}", inner)


def to_canonical_data(delivery: RawDelivery, mapping: Mapping[str, str] | None) -> dict[str, Any]:
    body = _body(delivery)
    if mapping:
        return _mapped(body, mapping)
    if is_form(delivery.content_type):
        return _from_form_paths(body)
    return body


def event_id(delivery: RawDelivery, mapping: Mapping[str, str] | None = None) -> str:
    """`webhook-id` (Standard Webhooks), else the sender's external_id, else a body hash."""
    header = delivery.header("webhook-id")
    if header and header.strip():
        return header.strip()[:MAX_EXTERNAL_ID]
    try:
        external = to_canonical_data(delivery, mapping).get("external_id")
    except AdapterError:
        external = None
    if isinstance(external, str) and external.strip():
        return external.strip()[:MAX_EXTERNAL_ID]
    return body_digest(delivery.body)


def parse(
    delivery: RawDelivery,
    mapping: Mapping[str, str] | None = None,
    channel: GenericChannel = "web_form",
) -> ParsedItem:
    data = to_canonical_data(delivery, mapping)
    data.setdefault("channel", channel)
    lead = build_lead(data)
    return ParsedItem(
        external_id=lead.external_id or event_id(delivery, mapping),
        lead=lead,
        is_test=lead.is_test,
    )


def authenticate(settings: Mapping[str, Any], delivery: RawDelivery, now: dt.datetime) -> None:
    sig.verify_standard_webhook(delivery.body, delivery.headers, settings["secrets"], now)


def _standard_event_id(delivery: RawDelivery) -> str:
    # Standard Webhooks: webhook-id is the sender's idempotency key across retries.
    return (delivery.header("webhook-id") or "")[:255] or event_id(delivery)


def _parse_as(channel: GenericChannel) -> Callable[[RawDelivery, Mapping[str, str] | None], Parsed]:
    def parse_kind(delivery: RawDelivery, mapping: Mapping[str, str] | None) -> Parsed:
        return [parse(delivery, mapping, channel=channel)]

    return parse_kind


# Web forms and partners send Standard Webhooks; they differ in the channel their leads name.
class StandardWebhookSettings(SourceSettings):
    secrets: list[str] = secret(min_length=1, max_length=5)

    @field_validator("secrets")
    @classmethod
    def _whsec(cls, v: list[str]) -> list[str]:
        if any(not s.startswith("whsec_") or len(s) < 20 for s in v):
            raise ValueError("each secret must be a `whsec_…` Standard Webhooks secret")
        return v


WEB_FORM = Adapter(
    "web_form", StandardWebhookSettings, authenticate, _standard_event_id, _parse_as("web_form")
)
PARTNER = Adapter(
    "partner", StandardWebhookSettings, authenticate, _standard_event_id, _parse_as("partner")
)
