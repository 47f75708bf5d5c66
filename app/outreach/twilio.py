"""Twilio Voice status callbacks: the calls our dialer places, recorded as contact attempts.

Every callback that authenticates is stored raw (encrypted) in the inbox like any other
delivery (app.intake.adapters.twilio reads it), unique on `CallSid:SequenceNumber`, and can
be replayed (`POST /v1/inbox/{id}/replay`): one for a number no lead has is kept `unmatched`
until then.

Configure the `twilio_voice` source's `webhook_url` (`/v1/webhooks/{source_id}`) as the
call's `StatusCallback`. Add `?member=<agent external id>` to credit the attempt to a member:
the query is part of what Twilio signs. Behind a proxy, set `public_url` in the source's
settings to the URL exactly as Twilio calls it, or the signature cannot match.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import utcnow
from app.intake.adapters import twilio as adapter
from app.intake.adapters.base import CallStatus
from app.leads.identity import phone_hash
from app.leads.normalize import normalize_phone
from app.outreach import service

log = structlog.get_logger("app.outreach.twilio")

# The adapter's outcomes in the attempt vocabulary. A machine answering means our dialer
# left a message; a carrier failure reached nobody, like an unanswered call.
_OUTCOMES = {"voicemail": "left_voicemail", "failed": "no_answer"}


def _spec(call: CallStatus, outcome: str, member: str | None) -> service.AttemptSpec:
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


def _ignored(reason: str) -> dict[str, Any]:
    # Twilio only checks for a 2xx; saying why helps whoever reads its debugger.
    return {"status": "ignored", "reason": reason}


async def record(
    session: AsyncSession,
    org_id: uuid.UUID,
    inbox_id: uuid.UUID,
    call: CallStatus,
    query: Mapping[str, str],
) -> tuple[str, dict[str, Any]]:
    """Record the ended call's attempt on the lead with the number called (or calling): the
    delivery's status and its answer (200)."""
    outcome = adapter.attempt_outcome(call)
    if outcome is None:
        return "ignored", _ignored("the call has not ended")
    inbound = call.direction == "inbound"
    number = normalize_phone(call.from_number if inbound else call.to_number).e164
    lead = await service.lead_by_phone(session, org_id, phone_hash(number)) if number else None
    if lead is None:
        log.info("twilio_call_without_lead", organization_id=str(org_id), inbox_id=str(inbox_id))
        return "unmatched", _ignored("no lead has this number")
    spec = _spec(call, outcome, query.get("member"))
    caller = service.system_caller(org_id)
    attempt, created = await service.record_attempt(session, caller, lead, spec, enforce=False)
    return "processed", {
        "status": "recorded" if created else "duplicate",
        "attempt_id": str(attempt.id),
        "lead_id": str(lead.id),
        "outcome": attempt.outcome,
        "inbox_id": str(inbox_id),
    }
