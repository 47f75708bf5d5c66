"""Twilio Voice status callbacks: the calls our dialer places, recorded as contact attempts.

Configure the `twilio_voice` source's `webhook_url` (`/v1/webhooks/{source_id}`) as the
call's `StatusCallback`. Add `?member=<agent external id>` to credit the attempt to a member:
the query is part of what Twilio signs. Behind a proxy, set `public_url` in the source's
settings to the URL exactly as Twilio calls it, or the signature cannot match.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import parse_qsl

import structlog
from fastapi import Request
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import utcnow
from app.errors import Unauthorized, Unprocessable
from app.intake import signatures as sig
from app.intake.adapters import twilio as adapter
from app.intake.adapters.base import AdapterError
from app.intake.models import Source
from app.intake.normalize import normalize_phone
from app.intake.pipeline import phone_hash
from app.intake.sources import secret_settings
from app.outreach import service

log = structlog.get_logger("app.outreach.twilio")

# The adapter's outcomes in the attempt vocabulary. A machine answering means our dialer
# left a message; a carrier failure reached nobody, like an unanswered call.
_OUTCOMES = {"voicemail": "left_voicemail", "failed": "no_answer"}


def signed_url(request: Request, settings: dict[str, Any]) -> str:
    """The URL Twilio signed: configured public URL (or base URL + path), with the query."""
    base = settings.get("public_url") or (
        request.app.state.settings.public_base_url.rstrip("/") + request.url.path
    )
    query = request.url.query
    if query and "?" not in base:
        base = f"{base}?{query}"
    return str(base)


def _verify(request: Request, settings: dict[str, Any], body: bytes) -> None:
    params = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
    try:
        sig.verify_twilio(
            signed_url(request, settings),
            params,
            request.headers.get("x-twilio-signature"),
            settings["auth_token"],
            body,
        )
    except sig.SignatureError as exc:
        raise Unauthorized(
            f"The delivery is not authenticated: {exc.reason}.", type="invalid-signature"
        ) from None


def _spec(call: adapter.TwilioCall, outcome: str, member: str | None) -> service.AttemptSpec:
    ended = call.timestamp or utcnow()
    started = ended - dt.timedelta(seconds=call.call_duration or 0)
    return service.AttemptSpec(
        channel="voice",
        direction="inbound" if call.direction == "inbound" else "outbound",
        outcome=_OUTCOMES.get(outcome, outcome),
        started_at=started,
        ended_at=ended,
        external_id=adapter.call_event_id(call)[:255],
        member_external_id=member,
        origin="twilio",
    )


def _ignored(reason: str) -> JSONResponse:
    # Twilio only checks for a 2xx; saying why helps whoever reads its debugger.
    return JSONResponse({"status": "ignored", "reason": reason})


async def receive_status(
    session: AsyncSession, source: Source, request: Request, body: bytes
) -> JSONResponse:
    """Verify, parse, find the lead by the number called (or calling), record the attempt."""
    settings = secret_settings(source)
    _verify(request, settings, body)
    try:
        call = adapter.parse_status_callback(body)
    except AdapterError as exc:
        raise Unprocessable(
            f"The status callback cannot be read: {exc.reason}.", type="unprocessable-delivery"
        ) from None
    outcome = adapter.attempt_outcome(call)
    if outcome is None:
        return _ignored("the call has not ended")
    inbound = call.direction == "inbound"
    number = normalize_phone(call.from_number if inbound else call.to_number).e164
    lead = (
        await service.lead_by_phone(session, source.organization_id, phone_hash(number))
        if number
        else None
    )
    if lead is None:
        log.info("twilio_call_without_lead", source_id=str(source.id))
        return _ignored("no lead has this number")
    spec = _spec(call, outcome, request.query_params.get("member"))
    caller = service.system_caller(source.organization_id)
    attempt, created = await service.record_attempt(session, caller, lead, spec, enforce=False)
    return JSONResponse(
        {
            "status": "recorded" if created else "duplicate",
            "attempt_id": str(attempt.id),
            "lead_id": str(lead.id),
            "outcome": attempt.outcome,
        }
    )
