"""Typeform `form_response` webhooks, mapped by `field.ref` (never by position)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
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
    load_json_object,
    parse_iso_datetime,
    scalar_text,
    secret,
    set_path,
)

# Hidden fields that carry attribution or consent evidence by convention; a
# mapping entry for the same hidden key wins.
DEFAULT_HIDDEN: Mapping[str, str] = TRACKING_FIELDS
CONSENT_PATH = "consent.checked"
SKIPPED_TYPES = frozenset({"file_url", "payment"})


def answer_value(answer: Mapping[str, Any]) -> Any:
    """The answer's value by its type: str, bool, or None for empty/unsupported."""
    kind = answer.get("type")
    if not isinstance(kind, str) or kind in SKIPPED_TYPES:
        return None
    raw = answer.get(kind)
    if kind == "boolean":
        return raw if isinstance(raw, bool) else None
    if kind == "choice" and isinstance(raw, dict):
        return scalar_text(raw.get("label")) or scalar_text(raw.get("other"))
    if kind == "choices" and isinstance(raw, dict):
        labels = [t for v in raw.get("labels") or [] if (t := scalar_text(v))]
        if other := scalar_text(raw.get("other")):
            labels.append(other)
        return ", ".join(labels) or None
    return scalar_text(raw)


def _field_titles(form_response: Mapping[str, Any]) -> dict[str, str]:
    definition = form_response.get("definition")
    fields = definition.get("fields") if isinstance(definition, dict) else None
    titles: dict[str, str] = {}
    for item in fields if isinstance(fields, list) else []:
        if isinstance(item, dict) and isinstance(item.get("title"), str):
            for key in ("ref", "id"):
                if isinstance(item.get(key), str):
                    titles.setdefault(item[key], item["title"])
    return titles


def _apply_answers(
    data: dict[str, Any], form_response: Mapping[str, Any], mapping: Mapping[str, str]
) -> None:
    answers = form_response.get("answers") or []
    if not isinstance(answers, list):
        raise AdapterError("answers is not a list", field="form_response.answers")
    titles = _field_titles(form_response)
    for answer in answers:
        if not isinstance(answer, dict) or not isinstance(answer.get("field"), dict):
            raise AdapterError("answer without field", field="form_response.answers")
        ref = answer["field"].get("ref") or answer["field"].get("id")
        value = answer_value(answer)
        if not isinstance(ref, str) or value is None:
            continue
        path = mapping.get(ref)
        if path is None:
            add_custom(data, ref, value)
            continue
        set_path(data, path, value)
        if path == CONSENT_PATH and ref in titles:
            # The question as shown is the disclosure; keep it byte-exact.
            set_path(data, "consent.disclosure_text", titles[ref])


def _apply_hidden(data: dict[str, Any], hidden: Any, mapping: Mapping[str, str]) -> None:
    if not isinstance(hidden, dict):
        return
    for key, value in hidden.items():
        text = scalar_text(value)
        if text is None:
            continue
        path = mapping.get(key) or DEFAULT_HIDDEN.get(key)
        if path:
            set_path(data, path, text)


def _form_response(body: Mapping[str, Any]) -> dict[str, Any]:
    form_response = body.get("form_response")
    if not isinstance(form_response, dict):
        raise AdapterError("missing form_response", field="form_response")
    return form_response


def event_id(delivery: RawDelivery) -> str:
    try:
        body = load_json_object(delivery.body)
        token = _form_response(body).get("token")
    except AdapterError:
        return body_digest(delivery.body)
    candidate = body.get("event_id") or token
    return candidate if isinstance(candidate, str) and candidate else body_digest(delivery.body)


def parse(delivery: RawDelivery, mapping: Mapping[str, str] | None) -> ParsedItem:
    """`mapping`: `{field ref or hidden key: canonical path}`; unmapped answers go to custom."""
    if not mapping:
        raise AdapterError("no field mapping configured for this form")
    body = load_json_object(delivery.body)
    if body.get("event_type") != "form_response":
        raise AdapterError("not a form_response event", field="event_type")
    form_response = _form_response(body)
    token = form_response.get("token")
    if not isinstance(token, str) or not token:
        raise AdapterError("missing response token", field="form_response.token")
    data: dict[str, Any] = {"external_id": token, "channel": "web_form"}
    _apply_answers(data, form_response, mapping)
    _apply_hidden(data, form_response.get("hidden"), mapping)
    form_id = form_response.get("form_id")
    if isinstance(form_id, str):
        data.setdefault("attribution", {}).setdefault("form_id", form_id)
    submitted = parse_iso_datetime(form_response.get("submitted_at"))
    if submitted:
        data["submitted_at"] = submitted
    fill_consent_context(data, captured_at=submitted)
    return ParsedItem(
        external_id=token,
        lead=build_lead(data),
        kind_specific={
            "form_id": form_id if isinstance(form_id, str) else None,
            "landed_at": form_response.get("landed_at"),
        },
    )


def authenticate(settings: Mapping[str, Any], delivery: RawDelivery, now: dt.datetime) -> None:
    sig.verify_typeform(delivery.body, delivery.header("typeform-signature"), settings["secret"])


def _parse(delivery: RawDelivery, mapping: Mapping[str, str] | None) -> list[ParsedItem]:
    return [parse(delivery, mapping)]


class TypeformSettings(SourceSettings):
    secret: str = secret(min_length=8, max_length=200)


ADAPTER = Adapter("typeform", TypeformSettings, authenticate, event_id, _parse)
