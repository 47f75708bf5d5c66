"""Recording contact attempts: policy, idempotency, speed to lead, revocation, events, status.

Every path that reports an attempt (the API, Twilio status callbacks, call tracking) ends in
`record_attempt`, so the facts on the lead and the events sent are the same whoever reported.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import uuid
from dataclasses import asdict, dataclass
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import service as audit
from app.auth.service import Caller
from app.consent import revocation
from app.consent import service as consent_service
from app.consent.policy import Channel, Direction, PolicyDecision, Purpose
from app.consent.schemas import RevocationIn
from app.crypto import cipher
from app.db import utcnow
from app.errors import AppError, Conflict, Unprocessable
from app.intake.adapters.callrail import CallInfo
from app.leads import status as lead_status
from app.leads.models import Lead
from app.outbox import service as outbox
from app.outreach import history as lead_history
from app.outreach.models import ContactAttempt
from app.outreach.schemas import AttemptIn, AttemptOut
from app.routing.models import Member
from app.tenancy import scoped

log = structlog.get_logger("app.outreach")

# Clocks of calling systems drift; beyond this an attempt "from the future" is a mistake.
CLOCK_SKEW = dt.timedelta(minutes=5)
_REVOCATION_VIA = {"voice": "call", "sms": "sms_reply", "email": "email"}


@dataclass(frozen=True)
class AttemptSpec:
    """One attempt, whoever reported it."""

    channel: str
    direction: str
    outcome: str
    started_at: dt.datetime
    ended_at: dt.datetime | None = None
    # None: decided by the lead (an emergency is called back as one; see `purpose_for`).
    purpose: str | None = None
    external_id: str | None = None
    member_external_id: str | None = None
    notes: str | None = None
    override_reason: str | None = None
    origin: str = "api"
    # Hash of the request as sent: a retry without `started_at` must match its first try.
    request_hash: str | None = None

    @classmethod
    def from_api(cls, body: AttemptIn, now: dt.datetime) -> AttemptSpec:
        return cls(
            channel=body.channel,
            direction=body.direction,
            outcome=body.outcome,
            started_at=body.started_at or now,
            ended_at=body.ended_at,
            purpose=body.purpose,
            external_id=body.external_id,
            member_external_id=body.member_external_id,
            notes=body.notes,
            override_reason=body.override_reason,
            request_hash=_sha256(body.model_dump_json()),
        )

    def digest(self, lead_id: uuid.UUID) -> str:
        if self.request_hash is not None:
            return _sha256(f"{lead_id}:{self.request_hash}")
        doc = {**asdict(self), "lead_id": str(lead_id)}
        return _sha256(json.dumps(doc, sort_keys=True, default=str, separators=(",", ":")))


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def system_caller(org_id: uuid.UUID) -> Caller:
    """The actor for attempts reported by a signed webhook rather than an API key."""
    return Caller(org_id=org_id, key_id=None, scopes=frozenset())


def _context(attempt_id: uuid.UUID, field: str) -> str:
    return f"contact-attempt:{attempt_id}:{field}"


def to_out(attempt: ContactAttempt) -> AttemptOut:
    assert attempt.lead_id is not None
    return AttemptOut(
        id=attempt.id,
        lead_id=attempt.lead_id,
        external_id=attempt.external_id,
        origin=attempt.origin,
        channel=attempt.channel,
        direction=attempt.direction,
        purpose=attempt.purpose,
        outcome=attempt.outcome,
        member_id=attempt.member_id,
        member_external_id=attempt.member_external_id,
        started_at=attempt.attempted_at,
        ended_at=attempt.ended_at,
        policy_rule=attempt.policy_rule,
        rules_version=attempt.rules_version,
        recorded_at=attempt.created_at,
    )


async def _replayed(
    session: AsyncSession, org_id: uuid.UUID, external_id: str | None, digest: str
) -> ContactAttempt | None:
    """The attempt already recorded under this id; the same id with another body is a 409."""
    if external_id is None:
        return None
    found = (
        await session.execute(
            scoped(ContactAttempt, org_id).where(ContactAttempt.external_id == external_id)
        )
    ).scalar_one_or_none()
    if found is not None and found.request_hash != digest:
        raise Conflict(
            "This `external_id` was already used for a different attempt.",
            type="attempt-id-reused",
        )
    return found


def purpose_for(lead: Lead, asked: str | None) -> Purpose:
    """The attempt's purpose: the one sent, else what the lead is (an emergency or not)."""
    if asked is None:
        return Purpose.EMERGENCY_CALLBACK if lead.emergency else Purpose.SCHEDULING
    purpose = Purpose(asked)
    if purpose is Purpose.EMERGENCY_CALLBACK and not lead.emergency:
        raise Unprocessable(
            "Only a lead assessed as an emergency can be called back as one; "
            "use `scheduling` or `marketing`.",
            type="not-an-emergency",
        )
    return purpose


def _check_time(lead: Lead, spec: AttemptSpec, now: dt.datetime) -> None:
    if spec.started_at > now + CLOCK_SKEW:
        raise Unprocessable("`started_at` is in the future.", type="attempt-in-future")
    if spec.started_at < lead.received_at - CLOCK_SKEW:
        # Speed to lead would be negative: the attempt is on the wrong lead or clock.
        raise Unprocessable(
            "`started_at` is before the lead was received.", type="attempt-before-lead"
        )


async def _policy(
    session: AsyncSession, caller: Caller, lead: Lead, spec: AttemptSpec, *, enforce: bool
) -> PolicyDecision:
    """Evaluated at the attempt's own time, against the attempts before it."""
    at = spec.started_at
    past = await consent_service.load_past_attempts(session, lead, at)
    args = (Channel(spec.channel), Direction(spec.direction), at, past)
    if not enforce:
        # The call already happened (reported after the fact): record it, and what it broke.
        return await consent_service.check_policy(
            session, lead, *args, purpose=Purpose(spec.purpose or Purpose.SCHEDULING)
        )
    return await consent_service.enforce_policy(
        session,
        caller,
        lead,
        *args,
        purpose=Purpose(spec.purpose or Purpose.SCHEDULING),
        override_reason=spec.override_reason,
    )


async def _member_id(
    session: AsyncSession, org_id: uuid.UUID, external_id: str | None
) -> uuid.UUID | None:
    if not external_id:
        return None
    stmt = scoped(Member, org_id).where(Member.external_id == external_id)
    return (await session.execute(stmt.with_only_columns(Member.id))).scalar_one_or_none()


async def _insert(
    session: AsyncSession,
    caller: Caller,
    lead: Lead,
    spec: AttemptSpec,
    decision: PolicyDecision,
) -> ContactAttempt:
    attempt_id = uuid.uuid4()
    overridden = not decision.allowed and spec.override_reason is not None
    values: dict[str, Any] = {
        "id": attempt_id,
        "organization_id": lead.organization_id,
        "lead_id": lead.id,
        "member_id": await _member_id(session, lead.organization_id, spec.member_external_id),
        "member_external_id": spec.member_external_id,
        "external_id": spec.external_id,
        "request_hash": spec.digest(lead.id),
        "origin": spec.origin,
        "channel": spec.channel,
        "direction": spec.direction,
        "purpose": spec.purpose,
        "outcome": spec.outcome,
        "attempted_at": spec.started_at,
        "ended_at": spec.ended_at,
        "policy_rule": decision.problem_type.value if decision.problem_type else None,
        "rules_version": decision.rules_version,
        "notes_enc": cipher().encrypt_opt(spec.notes, _context(attempt_id, "notes")),
        "override_reason_enc": cipher().encrypt_opt(
            spec.override_reason if overridden else None, _context(attempt_id, "override")
        ),
        "actor_key_id": caller.key_id,
        "created_at": utcnow(),
    }
    stmt = insert(ContactAttempt).values(**values)
    if spec.external_id is not None:
        # Another lead's request with the same id can race past `_replayed`; the index wins.
        stmt = stmt.on_conflict_do_nothing(
            index_elements=["organization_id", "external_id"],
            index_where=ContactAttempt.external_id.is_not(None),
        )
    if (await session.execute(stmt.returning(ContactAttempt.id))).scalar_one_or_none() is None:
        raise Conflict("This `external_id` is being recorded already.", type="attempt-id-reused")
    return await session.get_one(ContactAttempt, attempt_id)


def _counts_for_speed(spec: AttemptSpec) -> bool:
    # Speed to lead measures our reaching out; a call the person made counts once answered.
    return spec.direction == "outbound" or spec.outcome == "connected"


def _apply_facts(lead: Lead, spec: AttemptSpec) -> bool:
    """Speed to lead and first connection, only ever moved earlier; True on the first."""
    first = lead.first_attempt_at is None
    at = spec.started_at
    if _counts_for_speed(spec) and (lead.first_attempt_at is None or at < lead.first_attempt_at):
        lead.first_attempt_at = at
        lead.escalation_due_at = None  # somebody reached out: the SLA is met
    if spec.outcome == "connected" and (
        lead.first_connected_at is None or at < lead.first_connected_at
    ):
        lead.first_connected_at = at
    return first and lead.first_attempt_at is not None


async def record_attempt(
    session: AsyncSession,
    caller: Caller,
    lead: Lead,
    spec: AttemptSpec,
    *,
    enforce: bool = True,
    now: dt.datetime | None = None,
) -> tuple[ContactAttempt, bool]:
    """Record one attempt on a lead locked by the caller; (attempt, created).

    A replay (same external id and body) returns the stored attempt and changes nothing.
    """
    lead_status.refuse_if_erased(lead)
    now = now or utcnow()
    spec = dataclasses.replace(spec, purpose=purpose_for(lead, spec.purpose).value)
    replay = await _replayed(session, caller.org_id, spec.external_id, spec.digest(lead.id))
    if replay is not None:
        return replay, False
    _check_time(lead, spec, now)
    decision = await _policy(session, caller, lead, spec, enforce=enforce)
    attempt = await _insert(session, caller, lead, spec, decision)
    first = _apply_facts(lead, spec)
    await _audit(session, caller, lead, attempt, decision, spec)
    if spec.outcome == "do_not_contact_requested":
        body = RevocationIn(
            lead_id=lead.id, channel="all", purpose="all", via=_REVOCATION_VIA[spec.channel]
        )
        await revocation.revoke(session, caller, body, now=spec.started_at)
    await outbox.emit(
        session,
        lead.organization_id,
        "contact.attempted",
        _event_data(attempt, first),
        lead_id=lead.id,
        at=now,
    )
    await lead_history.recompute(session, lead)
    await session.flush()
    return attempt, True


async def _audit(
    session: AsyncSession,
    caller: Caller,
    lead: Lead,
    attempt: ContactAttempt,
    decision: PolicyDecision,
    spec: AttemptSpec,
) -> None:
    facts = {"attempt_id": str(attempt.id), "channel": spec.channel, "outcome": spec.outcome,
             "origin": spec.origin, "purpose": spec.purpose,
             "rules_version": decision.rules_version}  # fmt: skip
    await audit.record(session, caller, "contact_attempt.create", "lead", lead.id, facts)
    if not decision.allowed and spec.override_reason is not None:
        rules = sorted({v.rule.value for v in decision.reasons})
        await audit.record(
            session, caller, "contact_attempt.override", "lead", lead.id, {**facts, "rules": rules}
        )


def _event_data(attempt: ContactAttempt, first: bool) -> dict[str, Any]:
    return {
        "attempt_id": attempt.id,
        "channel": attempt.channel,
        "direction": attempt.direction,
        "outcome": attempt.outcome,
        "origin": attempt.origin,
        "member_id": attempt.member_id,
        "started_at": attempt.attempted_at,
        "ended_at": attempt.ended_at,
        "first_attempt": first,
        "policy_rule": attempt.policy_rule,
    }


async def list_attempts(
    session: AsyncSession, org_id: uuid.UUID, lead_id: uuid.UUID, limit: int = 200
) -> list[ContactAttempt]:
    stmt = (
        scoped(ContactAttempt, org_id)
        .where(ContactAttempt.lead_id == lead_id)
        .order_by(ContactAttempt.attempted_at, ContactAttempt.id)
        .limit(limit)
    )
    return list((await session.execute(stmt)).scalars())


async def lead_by_phone(session: AsyncSession, org_id: uuid.UUID, hash_: str) -> Lead | None:
    """The person's most recent live lead with this number, locked for the attempt."""
    stmt = (
        select(Lead)
        .where(
            Lead.organization_id == org_id,
            Lead.phone_hash == hash_,
            Lead.erased_at.is_(None),
            Lead.status != "pending_retrieval",
        )
        .order_by(Lead.received_at.desc())
        .limit(1)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def record_call(
    session: AsyncSession, lead: Lead, call: CallInfo, now: dt.datetime
) -> ContactAttempt | None:
    """A call-tracking call from (or to) a known lead, recorded as a contact attempt.

    The delivery is the lead's evidence and must be processed whatever happens here, so an
    attempt that cannot be recorded (e.g. a clock far off) is logged and skipped.
    """
    started = call.started_at or now
    spec = AttemptSpec(
        channel="voice",
        direction="outbound" if call.direction == "outbound" else "inbound",
        outcome="connected" if call.answered else "no_answer",
        started_at=started,
        ended_at=started + dt.timedelta(seconds=call.duration_seconds),
        external_id=f"callrail:{call.resource_id}"[:255],
        origin="call_tracking",
    )
    try:
        async with session.begin_nested():
            attempt, _ = await record_attempt(
                session, system_caller(lead.organization_id), lead, spec, enforce=False, now=now
            )
    except AppError as exc:
        log.warning("call_attempt_skipped", lead_id=str(lead.id), reason=exc.type)
        return None
    return attempt
