"""CallRail post-call webhooks: an inbound call is a lead (or a contact on a known one).

CallRail posts SMS and form events to the same endpoint and disables an
integration after repeated non-2xx answers, so shapes we do not handle come
back as IgnoredDelivery (answer 200) instead of an error.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app import signatures as sig
from app.intake.adapters.base import (
    Adapter,
    AdapterError,
    IgnoredDelivery,
    ParsedItem,
    RawDelivery,
    SourceSettings,
    body_digest,
    build_lead,
    load_json_object,
    parse_iso_datetime,
    scalar_text,
    secret,
)

ATTRIBUTION: Mapping[str, str] = {
    "source_name": "source",
    "campaign": "campaign",
    "utm_source": "utm_source",
    "utm_medium": "utm_medium",
    "utm_campaign": "utm_campaign",
    "utm_term": "utm_term",
    "utm_content": "utm_content",
    "gclid": "gclid",
    "fbclid": "fbclid",
    "landing_page_url": "landing_page_url",
    "referring_url": "referrer",
}
# Caller-ID placeholders that carriers send instead of a name.
PLACEHOLDER_NAMES = frozenset(
    {"wireless caller", "unknown", "unknown caller", "unavailable", "anonymous", "private",
     "restricted", "toll free call"}
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class CallInfo:
    resource_id: str
    started_at: datetime | None
    duration_seconds: int
    answered: bool | None
    direction: str | None
    first_call: bool | None
    call_type: str | None
    voicemail: bool | None
    tracking_phone_number: str | None


def _flag(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None


def _seconds(value: Any) -> int:
    text = scalar_text(value)
    try:
        return max(0, int(text)) if text else 0
    except ValueError:
        return 0


def _call_id(body: Mapping[str, Any]) -> str | None:
    # Payloads from before 2021-09 carry only the numeric `id`.
    for key, prefix in (("resource_id", ""), ("id", "id:")):
        text = scalar_text(body.get(key))
        if text:
            return prefix + text
    return None


def _is_call(body: Mapping[str, Any]) -> bool:
    resource_id = scalar_text(body.get("resource_id")) or ""
    if resource_id and not resource_id.startswith("CAL"):
        return False
    return any(k in body for k in ("answered", "duration", "call_type")) and any(
        k in body for k in ("customer_phone_number", "callernum")
    )


def event_id(delivery: RawDelivery) -> str:
    try:
        call_id = _call_id(load_json_object(delivery.body))
    except AdapterError:
        call_id = None
    return call_id or body_digest(delivery.body)


def _caller_name(body: Mapping[str, Any]) -> str | None:
    name = scalar_text(body.get("customer_name")) or scalar_text(body.get("callername"))
    if not name or name.strip().lower() in PLACEHOLDER_NAMES:
        return None
    if not any(ch.isalpha() for ch in name):
        return None
    return name.strip()


def _lead_data(body: Mapping[str, Any], call_id: str, phone: str) -> dict[str, Any]:
    data: dict[str, Any] = {"external_id": call_id, "channel": "phone_call", "phone": phone}
    if name := _caller_name(body):
        data["full_name"] = name
    address = {
        dst: text
        for src, dst in (("customer_city", "city"), ("customer_state", "state"),
                         ("customer_country", "country"))
        if (text := scalar_text(body.get(src)))
    }  # fmt: skip
    if address:
        data["address"] = address
    attribution = {dst: t for src, dst in ATTRIBUTION.items() if (t := scalar_text(body.get(src)))}
    if attribution:
        data["attribution"] = attribution
    started = parse_iso_datetime(body.get("start_time"))
    if started:
        data["submitted_at"] = started
    return data


def parse(delivery: RawDelivery) -> ParsedItem | IgnoredDelivery:
    body = load_json_object(delivery.body)
    if not _is_call(body):
        return IgnoredDelivery("not a call event")
    call_id = _call_id(body)
    if call_id is None:
        raise AdapterError("call without resource_id", field="resource_id")
    phone = scalar_text(body.get("customer_phone_number")) or scalar_text(body.get("callernum"))
    if not phone:
        # A blocked caller id cannot become a reachable lead.
        return IgnoredDelivery("call without caller number")
    call = CallInfo(
        resource_id=call_id,
        started_at=parse_iso_datetime(body.get("start_time")),
        duration_seconds=_seconds(body.get("duration")),
        answered=_flag(body.get("answered")),
        direction=scalar_text(body.get("direction")),
        first_call=_flag(body.get("first_call")),
        call_type=scalar_text(body.get("call_type")),
        voicemail=_flag(body.get("voicemail")),
        tracking_phone_number=scalar_text(body.get("tracking_phone_number")),
    )
    return ParsedItem(
        external_id=call_id,
        lead=build_lead(_lead_data(body, call_id, phone)),
        kind_specific={"call": call},
    )


def authenticate(settings: Mapping[str, Any], delivery: RawDelivery, now: dt.datetime) -> None:
    sig.verify_callrail(delivery.body, delivery.header("signature"), settings["signing_key"])


def _parse(
    delivery: RawDelivery, mapping: Mapping[str, str] | None
) -> list[ParsedItem] | IgnoredDelivery:
    parsed = parse(delivery)
    return parsed if isinstance(parsed, IgnoredDelivery) else [parsed]


# CallRail disables a webhook after a few failed answers: a quarantined call is answered 200.
class CallTrackingSettings(SourceSettings):
    signing_key: str = secret(min_length=8, max_length=200)


ADAPTER = Adapter(
    "call_tracking", CallTrackingSettings, authenticate, event_id, _parse, quarantine_status=200
)
