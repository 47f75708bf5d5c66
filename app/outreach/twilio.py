"""Twilio Voice status callbacks: the calls our dialer places, recorded as contact attempts.

Every callback that authenticates is stored raw (encrypted) in the inbox like any other
delivery, unique on `CallSid:SequenceNumber`, and can be replayed (`POST
/v1/inbox/{id}/replay`): one for a number no lead has is kept `unmatched` until then.

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
from app.errors import Unauthorized
from app.intake import service as intake_service
from app.intake import signatures as sig
from app.intake.adapters import twilio as adapter
from app.intake.adapters.base import RawDelivery
from app.intake.models import InboxDelivery, Source
from app.intake.normalize import normalize_phone
from app.intake.pipeline import phone_hash
from app.intake.service import Answer
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


def _ignored(reason: str) -> Answer:
    # Twilio only checks for a 2xx; saying why helps whoever reads its debugger.
    return Answer(200, {"status": "ignored", "reason": reason})


async def receive_status(
    session: AsyncSession, source: Source, request: Request, body: bytes
) -> JSONResponse:
    """Verify, store raw in the inbox (unique on `CallSid:SequenceNumber`), record the
    attempt on the lead with the number called (or calling).

    A retry of a stored callback gets the first answer (`duplicate` for a recorded one) and
    records nothing twice; one for no known lead is stored `unmatched`, listed and
    replayable once the lead exists."""
    settings = secret_settings(source)
    _verify(request, settings, body)
    raw = RawDelivery(
        body=body,
        content_type=request.headers.get("content-type", ""),
        headers=dict(request.headers),
        query=dict(request.query_params),
    )
    event = adapter.event_id(raw)
    first = await intake_service.stored_answer(session, source.id, event)
    if first is not None:
        return _response(_repeated(first))
    now = utcnow()

    async def run(inbox: InboxDelivery) -> tuple[str, Answer]:
        return await process(session, source, inbox, raw, now)

    answer = await intake_service.store_alone(session, source, raw, event, now, run)
    return _response(answer)


def _repeated(first: Answer) -> Answer:
    if first.body.get("status") == "recorded":
        return Answer(first.status, {**first.body, "status": "duplicate"})
    return first


def _response(answer: Answer) -> JSONResponse:
    media = "application/problem+json" if answer.status >= 400 else "application/json"
    return JSONResponse(answer.body, status_code=answer.status, media_type=media)


async def process(
    session: AsyncSession,
    source: Source,
    inbox: InboxDelivery,
    raw: RawDelivery,
    now: dt.datetime,
) -> tuple[str, Answer]:
    """Parse a stored callback and record its attempt: the delivery's status and answer.
    Raises AdapterError for a callback that cannot be read (it is then quarantined)."""
    del now  # the attempt's times are the call's own
    call = adapter.parse_status_callback(raw.body)
    outcome = adapter.attempt_outcome(call)
    if outcome is None:
        return "ignored", _ignored("the call has not ended")
    inbound = call.direction == "inbound"
    number = normalize_phone(call.from_number if inbound else call.to_number).e164
    lead = (
        await service.lead_by_phone(session, source.organization_id, phone_hash(number))
        if number
        else None
    )
    if lead is None:
        log.info("twilio_call_without_lead", source_id=str(source.id), inbox_id=str(inbox.id))
        return "unmatched", _ignored("no lead has this number")
    spec = _spec(call, outcome, raw.query.get("member"))
    caller = service.system_caller(source.organization_id)
    attempt, created = await service.record_attempt(session, caller, lead, spec, enforce=False)
    return "processed", Answer(
        200,
        {
            "status": "recorded" if created else "duplicate",
            "attempt_id": str(attempt.id),
            "lead_id": str(lead.id),
            "outcome": attempt.outcome,
            "inbox_id": str(inbox.id),
        },
    )
