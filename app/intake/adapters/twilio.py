"""Twilio Voice status callbacks for the calls we place (contact attempts).

Outcome mapping (terminal statuses only; in-flight ones give None):
- completed with AnsweredBy=machine_* -> voicemail (a machine picked up)
- completed with CallDuration > 0     -> connected
- completed with CallDuration == 0    -> no_answer (nobody was on the line)
- busy -> busy; no-answer -> no_answer
- canceled -> no_answer: we hung up before anyone answered
- failed with SIP 404/410/484/604     -> invalid_number (number does not exist)
- failed otherwise                    -> failed (carrier/network trouble, retryable)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qsl

from pydantic import Field

from app import signatures as sig
from app.intake.adapters.base import (
    Adapter,
    AdapterError,
    CallStatus,
    IgnoredDelivery,
    RawDelivery,
    SourceSettings,
    body_digest,
    form_dict,
    secret,
)

TERMINAL_STATUSES = frozenset({"completed", "busy", "no-answer", "failed", "canceled"})
KNOWN_STATUSES = TERMINAL_STATUSES | {"queued", "initiated", "ringing", "in-progress"}
NUMBER_NOT_FOUND_SIP = frozenset({404, 410, 484, 604})


# The parsed callback; outreach records it as a contact attempt.
TwilioCall = CallStatus


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


def _timestamp(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None


def parse_status_callback(body: bytes) -> TwilioCall:
    form = form_dict(body)
    call_sid = form.get("CallSid", "").strip()
    status = form.get("CallStatus", "").strip()
    if not call_sid:
        raise AdapterError("missing CallSid", field="CallSid")
    if status not in KNOWN_STATUSES:
        raise AdapterError("unknown CallStatus", field="CallStatus")
    return TwilioCall(
        call_sid=call_sid,
        call_status=status,
        sequence_number=_int(form.get("SequenceNumber")),
        direction=form.get("Direction") or None,
        from_number=form.get("From") or None,
        to_number=form.get("To") or None,
        call_duration=_int(form.get("CallDuration")),
        timestamp=_timestamp(form.get("Timestamp")),
        answered_by=form.get("AnsweredBy") or None,
        sip_response_code=_int(form.get("SipResponseCode")),
        account_sid=form.get("AccountSid") or None,
    )


def attempt_outcome(call: TwilioCall) -> str | None:
    status = call.call_status
    if status not in TERMINAL_STATUSES:
        return None
    if status == "completed":
        if (call.answered_by or "").startswith("machine"):
            return "voicemail"
        return "connected" if (call.call_duration or 0) > 0 else "no_answer"
    if status == "busy":
        return "busy"
    if status == "failed":
        sip = call.sip_response_code
        return "invalid_number" if sip in NUMBER_NOT_FOUND_SIP else "failed"
    return "no_answer"


def call_event_id(call: TwilioCall) -> str:
    suffix = str(call.sequence_number) if call.sequence_number is not None else call.call_status
    return f"{call.call_sid}:{suffix}"


def event_id(delivery: RawDelivery) -> str:
    try:
        return call_event_id(parse_status_callback(delivery.body))
    except AdapterError:
        return body_digest(delivery.body)


def signed_url(settings: Mapping[str, Any], delivery: RawDelivery) -> str:
    """The URL Twilio signed: the configured public URL (else the URL called), with the
    query as sent."""
    called, _, query = delivery.url.partition("?")
    base = str(settings.get("public_url") or called)
    if query and "?" not in base:
        base = f"{base}?{query}"
    return base


def authenticate(settings: Mapping[str, Any], delivery: RawDelivery, now: dt.datetime) -> None:
    params = parse_qsl(delivery.body.decode("utf-8", "replace"), keep_blank_values=True)
    sig.verify_twilio(
        signed_url(settings, delivery),
        params,
        delivery.header("x-twilio-signature"),
        settings["auth_token"],
        delivery.body,
    )


def parse(delivery: RawDelivery, mapping: Mapping[str, str] | None) -> CallStatus | IgnoredDelivery:
    call = parse_status_callback(delivery.body)
    if attempt_outcome(call) is None:
        return IgnoredDelivery("the call has not ended")
    return call


def repeated(first: Mapping[str, Any]) -> dict[str, Any]:
    """A retried callback's answer: the first one's, a recorded attempt now a duplicate."""
    if first.get("status") == "recorded":
        return {**first, "status": "duplicate"}
    return dict(first)


class TwilioVoiceSettings(SourceSettings):
    """Status callbacks of the calls we place (contact attempts), not leads."""

    auth_token: str = secret(min_length=8, max_length=200)
    public_url: str | None = Field(
        default=None,
        max_length=2000,
        pattern=r"^https?://",
        description="The callback URL exactly as configured in Twilio (scheme, host, path), "
        "when a proxy makes it differ from the source's `webhook_url`.",
    )


# Status callbacks of the calls we place (contact attempts), not leads.
ADAPTER = Adapter(
    "twilio_voice",
    TwilioVoiceSettings,
    authenticate,
    event_id,
    parse,
    stored_query=("member",),
    repeated=repeated,
)
