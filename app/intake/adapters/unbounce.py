"""Unbounce form webhooks: form-encoded with a `data.json` string of arrays.

Unbounce signs nothing; the caller checks the per-source URL token with
`signatures.verify_unbounce_token` first.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from app import signatures as sig
from app.intake.adapters.base import (
    TRACKING_FIELDS,
    Adapter,
    AdapterError,
    ParsedItem,
    RawDelivery,
    SourceSettings,
    add_custom,
    body_digest,
    build_lead,
    fill_consent_context,
    form_dict,
    load_json_object,
    scalar_text,
    secret,
    set_path,
)

DEFAULT_MAPPING: Mapping[str, str] = {
    "first_name": "first_name",
    "last_name": "last_name",
    "name": "full_name",
    "full_name": "full_name",
    "email": "email",
    "email_address": "email",
    "phone": "phone",
    "phone_number": "phone",
    "zip": "postal_code",
    "zip_code": "postal_code",
    "zipcode": "postal_code",
    "postal_code": "postal_code",
    "city": "address.city",
    "state": "address.state",
    "message": "reason",
    "comments": "reason",
    **TRACKING_FIELDS,
}
# Unbounce's own bookkeeping inside data.json; not answers.
META_KEYS = frozenset(
    {"ip_address", "page_uuid", "variant", "time_submitted", "date_submitted", "page_url",
     "page_name", "page_id"}
)  # fmt: skip


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, list) and value else value


def _submitted_at(answers: Mapping[str, Any]) -> datetime | None:
    day = scalar_text(_first(answers.get("date_submitted")))
    clock = scalar_text(_first(answers.get("time_submitted")))
    if not day or not clock or not clock.upper().endswith(" UTC"):
        return None
    try:
        parsed = datetime.strptime(f"{day} {clock[:-4].strip()}", "%Y-%m-%d %I:%M %p")
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC)


def _decode(delivery: RawDelivery) -> tuple[dict[str, str], dict[str, Any]]:
    form = form_dict(delivery.body)
    raw = form.get("data.json")
    if raw is None:
        raise AdapterError("missing data.json", field="data.json")
    return form, load_json_object(raw)


def event_id(delivery: RawDelivery) -> str:
    """page_id + submission time + hash of data.json: Unbounce sends no submission id."""
    try:
        form, answers = _decode(delivery)
    except AdapterError:
        return body_digest(delivery.body)
    day = scalar_text(_first(answers.get("date_submitted"))) or ""
    clock = scalar_text(_first(answers.get("time_submitted"))) or ""
    digest = hashlib.sha256(form["data.json"].encode()).hexdigest()
    return f"{form.get('page_id', '')}:{day} {clock}:{digest}"


def parse(delivery: RawDelivery, mapping: Mapping[str, str] | None = None) -> ParsedItem:
    """`mapping`: `{unbounce field id: canonical path}`, merged over DEFAULT_MAPPING."""
    form, answers = _decode(delivery)
    merged = {**DEFAULT_MAPPING, **(mapping or {})}
    ext_id = event_id(delivery)
    data: dict[str, Any] = {"external_id": ext_id[:200], "channel": "web_form"}
    for key, raw in answers.items():
        value = _first(raw)
        text = scalar_text(value)
        if text is None or key in META_KEYS:
            continue
        path = merged.get(key)
        if path:
            set_path(data, path, text)
        else:
            add_custom(data, key, text)
    submitted = _submitted_at(answers)
    if submitted:
        data["submitted_at"] = submitted
    page_url = scalar_text(form.get("page_url")) or scalar_text(_first(answers.get("page_url")))
    if page_url:
        data.setdefault("attribution", {}).setdefault("landing_page_url", page_url)
    fill_consent_context(
        data,
        captured_at=submitted,
        page_url=page_url,
        ip=scalar_text(_first(answers.get("ip_address"))),
    )
    return ParsedItem(
        external_id=ext_id,
        lead=build_lead(data),
        kind_specific={
            "page_id": form.get("page_id"),
            "page_name": form.get("page_name"),
            "variant": form.get("variant"),
        },
    )


def authenticate(settings: Mapping[str, Any], delivery: RawDelivery, now: dt.datetime) -> None:
    sig.verify_unbounce_token(delivery.query.get("token"), settings["secret"])


def _parse(delivery: RawDelivery, mapping: Mapping[str, str] | None) -> list[ParsedItem]:
    return [parse(delivery, mapping)]


class UnbounceSettings(SourceSettings):
    secret: str = secret(
        min_length=16, max_length=200, description="Sent by Unbounce as `?token=` in the URL."
    )


ADAPTER = Adapter("unbounce", UnbounceSettings, authenticate, event_id, _parse)
