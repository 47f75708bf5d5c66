"""Google Ads lead form webhook (`WebhookLead`).

Authentication is the `google_key` inside the body, so the caller runs
`extract_google_key` + `signatures.verify_google_key` before storing.

Google's own published sample has a trailing comma before `}`. We accept
exactly that quirk: `_strip_trailing_commas` walks the text tracking string
literals and escapes, and drops only a comma whose next non-space character
closes an object or array. Nothing inside a string can be touched, and every
other malformation still fails the strict parser.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from app import signatures as sig
from app.intake.adapters.base import (
    Adapter,
    AdapterError,
    ParsedItem,
    RawDelivery,
    SourceSettings,
    add_custom,
    body_digest,
    build_lead,
    load_json_object,
    parse_iso_datetime,
    secret,
    set_path,
)

KEY_NAMES = ("google_key", "Google_key")

COLUMNS: Mapping[str, str] = {
    "FULL_NAME": "full_name",
    "FIRST_NAME": "first_name",
    "LAST_NAME": "last_name",
    "EMAIL": "email",
    "PHONE_NUMBER": "phone",
    "POSTAL_CODE": "postal_code",
    "CITY": "address.city",
    "REGION": "address.state",
    "COUNTRY": "address.country",
    "STREET_ADDRESS": "address.line1",
    "SERVICE": "service.text",
}
# Used only when the primary column is absent from the lead.
FALLBACK_COLUMNS: Mapping[str, str] = {"WORK_EMAIL": "email", "WORK_PHONE": "phone"}
ATTRIBUTION: Mapping[str, str] = {
    "campaign_id": "campaign_id",
    "adgroup_id": "adset_id",
    "creative_id": "ad_id",
    "form_id": "form_id",
    "gcl_id": "gclid",
}


def _strip_trailing_commas(text: str) -> str:
    out: list[str] = []
    in_string = escaped = False
    pending_comma = -1
    last = ""  # last significant character outside strings
    for ch in text:
        if in_string:
            out.append(ch)
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
            continue
        if ch.isspace():
            out.append(ch)
            continue
        if ch in "}]" and pending_comma >= 0:
            del out[pending_comma]
        pending_comma = -1
        # Only a comma that follows a value is a trailing comma; `{,}` stays invalid.
        if ch == "," and last not in ("", "{", "[", ","):
            pending_comma = len(out)
        elif ch == '"':
            in_string = True
        last = ch
        out.append(ch)
    return "".join(out)


def load_body(body: bytes) -> dict[str, Any]:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise AdapterError("body is not valid JSON") from None
    return load_json_object(_strip_trailing_commas(text))


def extract_google_key(body: bytes) -> str | None:
    """The anti-spoofing key; None if absent, malformed, or sent under both spellings."""
    try:
        data = load_body(body)
    except AdapterError:
        return None
    present = [data[name] for name in KEY_NAMES if name in data]
    if len(present) != 1 or not isinstance(present[0], str):
        return None
    return present[0]


def event_id(delivery: RawDelivery) -> str:
    try:
        lead_id = load_body(delivery.body).get("lead_id")
    except AdapterError:
        lead_id = None
    return lead_id if isinstance(lead_id, str) and lead_id else body_digest(delivery.body)


def _is_test(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _column_path(key_id: str, key_name: str, mapping: Mapping[str, str]) -> str | None:
    return mapping.get(key_id) or mapping.get(key_name) or COLUMNS.get(key_id)


def _columns(data: dict[str, Any], columns: Any, mapping: Mapping[str, str]) -> None:
    if columns is None:
        return
    if not isinstance(columns, list):
        raise AdapterError("user_column_data is not a list", field="user_column_data")
    fallbacks: list[tuple[str, str]] = []
    filled: set[str] = set()
    for column in columns:
        if not isinstance(column, dict):
            raise AdapterError("user_column_data item is not an object", field="user_column_data")
        value = column.get("string_value")
        if not isinstance(value, str) or not value.strip():
            continue
        key_id = _text(column.get("column_id"))
        key_name = _text(column.get("column_name"))
        path = _column_path(key_id, key_name, mapping)
        if path:
            set_path(data, path, value)
            filled.add(path)
            continue
        if key_id in FALLBACK_COLUMNS:
            fallbacks.append((FALLBACK_COLUMNS[key_id], value))
        # Unknown ids are custom questions; the label reads better than the id.
        add_custom(data, key_name or key_id or "unnamed", value)
    for path, value in fallbacks:
        if path not in filled:
            set_path(data, path, value)
            filled.add(path)


def parse(delivery: RawDelivery, mapping: Mapping[str, str] | None = None) -> ParsedItem:
    """`mapping` maps a column_id (or column_name) to a canonical path, over the defaults."""
    body = load_body(delivery.body)
    lead_id = body.get("lead_id")
    if not isinstance(lead_id, str) or not lead_id:
        raise AdapterError("missing lead_id", field="lead_id")
    is_test = _is_test(body.get("is_test"))
    data: dict[str, Any] = {"external_id": lead_id, "channel": "lead_form", "is_test": is_test}
    _columns(data, body.get("user_column_data"), mapping or {})
    attribution: dict[str, Any] = data.setdefault("attribution", {})
    attribution.setdefault("source", "google")
    for src, dst in ATTRIBUTION.items():
        value = body.get(src)
        if isinstance(value, str) and value:
            attribution.setdefault(dst, value)
    submitted = parse_iso_datetime(body.get("lead_submit_time"))
    if submitted:
        data["submitted_at"] = submitted
    extras = {
        k: body[k]
        for k in ("api_version", "lead_stage", "asset_group_id", "lead_source")
        if isinstance(body.get(k), str)
    }
    return ParsedItem(
        external_id=lead_id,
        lead=build_lead(data),
        is_test=is_test,
        kind_specific=extras,
    )


def authenticate(settings: Mapping[str, Any], delivery: RawDelivery, now: dt.datetime) -> None:
    sig.verify_google_key(extract_google_key(delivery.body), settings["google_key"])


def _parse(delivery: RawDelivery, mapping: Mapping[str, str] | None) -> list[ParsedItem]:
    return [parse(delivery, mapping)]


class GoogleSettings(SourceSettings):
    google_key: str = secret(min_length=3, max_length=200)


ADAPTER = Adapter("google_ads_lead_form", GoogleSettings, authenticate, event_id, _parse)
