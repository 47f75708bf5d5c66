"""The intake flow: one lead's data path, from a sender's request to its answer.

    authenticate → parse → normalise → lock and dedup → assess → route → consent → store
    → emit → answer

One function per step, called in that order: `receive` takes a webhook delivery through
the first two and then each of its leads through `ingest`, which runs the rest (as
POST /v1/leads, Meta's retrieval and a simulation do for a canonical lead). The flow sits
above the domains: it calls scoring, routing, consent and handoff, and none of them imports
it (import-linter contracts in pyproject.toml). The inbox that keeps each delivery and its
answer is app.intake.service.

A redelivery (same source and sender event id) gets the first delivery's status and body.
"""

from __future__ import annotations

import copy
import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.consent import evidence as consent_evidence
from app.crypto import cipher
from app.db import database_unavailable, db, utcnow
from app.errors import Conflict
from app.intake import placeholders, queries, receive, service, sources
from app.intake.adapters.base import (
    CallStatus,
    IgnoredDelivery,
    Parsed,
    ParsedItem,
    RawDelivery,
)
from app.intake.models import InboxDelivery
from app.intake.queries import Redelivered
from app.intake.service import Answer
from app.integrations import verification
from app.leads import queries as leads_queries
from app.leads import record
from app.leads.canonical import CanonicalLead
from app.leads.context import StepContext
from app.leads.identity import Identity, encrypt_pii
from app.leads.models import Lead, LeadSubmission, Source
from app.leads.normalize import NormalizedLead, normalize
from app.outbox import service as outbox
from app.outreach import service as outreach
from app.outreach import twilio as outreach_twilio
from app.routing import service as routing
from app.routing import trace as routing_trace
from app.routing.rules import CompiledRuleset
from app.scoring import service as scoring
from app.tenancy import get_owned

DEFAULT_DUPLICATE_WINDOW = dt.timedelta(days=30)


@dataclass
class IngestResult:
    lead: Lead
    resubmission: bool
    extra: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "lead_id": str(self.lead.id),
            "status": self.lead.status,
            "resubmission": self.resubmission,
        }
        out.update(self.extra)
        return out


@dataclass(frozen=True)
class Simulation:
    """Ingest to see the answer, within a transaction the caller rolls back."""

    # A draft rule set to route with; None: the live one.
    ruleset: CompiledRuleset | None = None


# --- a webhook delivery: authenticate → parse → its leads → the inbox → answer ----------


async def receive_delivery(
    session: AsyncSession, source: Source, raw: RawDelivery, now: dt.datetime | None = None
) -> Answer:
    now = now or utcnow()
    kind = source.kind
    authenticate(source, raw, now)
    inbox = service.inbox_row(source, raw, receive.event_id(kind, raw), now)
    # The row is written once, with its answer, after the processing and in its
    # transaction (two statements on every delivery before). An earlier attempt of the same
    # event that is stored already (the sender retried) is found by the dedup query, before
    # any lead is written or routed; one stored while this attempt worked makes the write
    # do nothing. Either way this attempt's work is rolled back and the first answer given.
    # No savepoint around the processing either (SAVEPOINT and RELEASE are two more round
    # trips): a failure rolls everything back, and the delivery is stored alone, quarantined.
    try:
        status, answer = await _leads_of(session, source, inbox, raw, now, first=True)
        inbox.status = status
    except Redelivered:
        await session.rollback()
        return await service.first_answer(session, kind, inbox)
    except Exception as exc:  # never lose an authenticated delivery to a bug
        if database_unavailable(exc):
            raise  # 503: the sender retries, and the delivery is processed then
        await session.rollback()
        answer = service.failed(inbox, kind, exc)
    return await service.keep(session, kind, inbox, answer, now)


def authenticate(source: Source, raw: RawDelivery, now: dt.datetime) -> None:
    """Step 1: the delivery's signature or token, on its raw bytes; 401 stores nothing."""
    receive.authenticate(source.kind, sources.secret_settings(source), raw, now)


def parse(source: Source, raw: RawDelivery) -> Parsed:
    """Step 2: the delivery's canonical leads, or why it carries none."""
    return receive.parse(source.kind, raw, source.mapping)


async def _leads_of(
    session: AsyncSession,
    source: Source,
    inbox: InboxDelivery,
    raw: RawDelivery,
    now: dt.datetime,
    *,
    first: bool,
) -> tuple[str, Answer]:
    """Parse and ingest each lead: the delivery's new status and its answer. `first`: the
    delivery is not stored yet (see receive_delivery), rather than replayed."""
    parsed = parse(source, raw)
    if isinstance(parsed, CallStatus):
        # Not a lead: the status of a call we placed, a contact attempt on its lead.
        status, body = await outreach_twilio.record(
            session, source.organization_id, inbox.id, parsed, raw.query
        )
        return status, Answer(200, body)
    if isinstance(parsed, IgnoredDelivery):
        body = {"inbox_id": str(inbox.id), "status": "ignored", "reason": parsed.reason}
        return "ignored", Answer(200, body)
    guard = (inbox.source_id, inbox.event_id) if first else None
    leads = [await _ingest_item(session, source, inbox, item, now, guard) for item in parsed]
    return "processed", Answer(
        200, {"inbox_id": str(inbox.id), "status": "processed", "leads": leads}
    )


async def _ingest_item(
    session: AsyncSession,
    source: Source,
    inbox: InboxDelivery,
    item: ParsedItem,
    now: dt.datetime,
    redelivery_of: tuple[uuid.UUID, str] | None,
) -> dict[str, Any]:
    if item.needs_retrieval is not None:
        return await placeholders.meta_placeholder(session, source, inbox, item, now)
    assert item.lead is not None
    result = await ingest(
        session,
        source.organization_id,
        item.lead,
        source=source,
        inbox_id=inbox.id,
        redelivery_of=redelivery_of,
        received_at=now,
        duplicate_window=None,
    )
    call = item.kind_specific.get("call")
    if result.resubmission and call is not None:
        # A known person called: a contact on their lead, not a new lead.
        await outreach.record_call(session, result.lead, call, now)
    return result.summary()


async def replay(session: AsyncSession, org_id: uuid.UUID, inbox_id: uuid.UUID) -> Answer:
    """A quarantined or unmatched delivery through the flow again, from its stored body."""
    inbox = await get_owned(session, InboxDelivery, inbox_id, org_id, for_update=True)
    if inbox.status not in service.REPLAYABLE:
        raise Conflict(
            f"Only quarantined or unmatched deliveries can be replayed; this one is {inbox.status}."
        )
    if inbox.body is None:
        raise Conflict(
            "This delivery's raw body was dropped (erasure or retention): it cannot be replayed.",
            type="body-dropped",
        )
    source = await session.get_one(Source, inbox.source_id)
    raw = RawDelivery(
        body=cipher().decrypt(inbox.body, service.body_context(inbox.id)),
        content_type=inbox.content_type or "application/json",
        headers=inbox.headers,
        query=inbox.query or {},
    )
    inbox.replay_count += 1
    inbox.reason = None
    now = utcnow()
    # The row exists before the processing, so a failure rolls back to a savepoint.
    try:
        async with session.begin_nested():
            status, answer = await _leads_of(session, source, inbox, raw, now, first=False)
        inbox.status = status
    except Exception as exc:
        if database_unavailable(exc):
            raise
        answer = service.failed(inbox, source.kind, exc)
    return await service.finish(session, inbox, answer, now)


# --- one canonical lead: normalise → … → answer -------------------------------------------


async def ingest(
    session: AsyncSession,
    org_id: uuid.UUID,
    lead_in: CanonicalLead,
    *,
    source: Source | None = None,
    inbox_id: uuid.UUID | None = None,
    redelivery_of: tuple[uuid.UUID, str] | None = None,
    received_at: dt.datetime | None = None,
    placeholder: Lead | None = None,
    duplicate_window: dt.timedelta | None = DEFAULT_DUPLICATE_WINDOW,
    simulation: Simulation | None = None,
) -> IngestResult:
    """Store one canonical lead, as a new lead or as a resubmission of a recent one.

    `placeholder` is a lead row created before its data was known (Meta retrieval); it is
    filled in, or removed in favour of the existing lead when the person is a duplicate.
    `duplicate_window=None` means the organisation's (scoring settings). `redelivery_of`:
    see app.intake.queries.find_duplicate. A `simulation` commits nothing apart from the
    session's transaction, which its caller rolls back: routing decides inside it.
    """
    now = received_at or utcnow()
    norm = normalise(lead_in)
    phone_hash, email_hash = record.identity_hashes(norm)
    existing = await lock_and_dedup(
        session, org_id, phone_hash, email_hash, now, duplicate_window, redelivery_of
    )
    channel = lead_in.channel or (source.kind if source else "api")
    submission = LeadSubmission(
        id=uuid.uuid4(),
        organization_id=org_id,
        source_id=source.id if source else None,
        inbox_id=inbox_id,
        received_at=now,
        external_id=lead_in.external_id,
        channel=channel,
        attribution=record.attribution(lead_in),
        normalization_flags=list(norm.flags),
    )
    if existing is not None:
        if placeholder is not None:
            await session.delete(placeholder)
        existing.resubmission_count += 1
        existing.last_submitted_at = now
        submission.lead_id = existing.id
        submission.is_resubmission = True
        submission.payload = encrypt_pii(existing.id, record.pii_doc(lead_in, norm))
        session.add(submission)
        lead, fresh, unsaved = existing, False, None
    else:
        # A new lead, or the placeholder filled in. Not written yet: the store step writes
        # it with its decisions (and its submission with it) in one INSERT.
        lead = placeholder or Lead(id=uuid.uuid4(), organization_id=org_id, received_at=now)
        record.fill(lead, lead_in, norm, source, channel)
        lead.last_submitted_at = now
        submission.lead_id = lead.id
        submission.payload = lead.pii
        fresh = placeholder is None
        unsaved = submission if fresh else None
        if not fresh:
            session.add(submission)
    ctx = StepContext(
        session,
        lead,
        lead_in,
        source,
        now,
        resubmission=existing is not None,
        fresh=fresh,
        unsaved=unsaved,
        phone=norm.phone_e164,
        email=norm.email_normalized,
    )
    if simulation is None:
        apart, ruleset = db.routing_engine(session.bind), None
    else:
        apart, ruleset = None, simulation.ruleset
    found = consent_evidence.intake_consent(lead_in, source, now)
    answer: dict[str, Any] = {}
    # A new lead is written once, after scoring and routing, by one INSERT carrying their
    # columns (app.leads.queries), instead of an INSERT and an UPDATE per step; a stored
    # lead's changes wait for the store step's flush.
    with session.no_autoflush:
        answer.update(await assess(ctx))
        answer.update(await route(ctx, apart, ruleset))
        await consent(ctx, found)
    answer.update(await store_lead(ctx, found))
    await emit(ctx, answer)
    return IngestResult(lead, resubmission=ctx.resubmission, extra=answer)


def normalise(lead_in: CanonicalLead) -> NormalizedLead:
    """Step 3: phone, email, address and free text in their canonical forms."""
    return normalize(lead_in)


async def lock_and_dedup(
    session: AsyncSession,
    org_id: uuid.UUID,
    phone_hash: str | None,
    email_hash: str | None,
    now: dt.datetime,
    window: dt.timedelta | None,
    redelivery_of: tuple[uuid.UUID, str] | None,
) -> Lead | None:
    """Step 4: the person locked against concurrent submissions, and their recent lead
    (locked too) if any."""
    await queries.lock_identity(session, org_id, phone_hash, email_hash)
    if window is None:
        window = await scoring.duplicate_window(session, org_id)
    return await queries.find_duplicate(
        session, org_id, phone_hash, email_hash, now - window, redelivery_of
    )


async def assess(ctx: StepContext) -> dict[str, Any]:
    """Step 5: score, triage and eligibility (a resubmission keeps its decisions)."""
    return await scoring.assess_lead(ctx.session, ctx)


async def route(
    ctx: StepContext, apart: AsyncEngine | None, ruleset: CompiledRuleset | None
) -> dict[str, Any]:
    """Step 6: team and member (app.routing.service.route_lead: `apart`, `ruleset`)."""
    return await routing.route_step(ctx, apart=apart, ruleset=ruleset)


async def consent(ctx: StepContext, found: consent_evidence.IntakeConsent | None) -> None:
    """Step 7: the channels the lead may be contacted on: suppressions, and a new lead's
    channels from the consent it arrived with."""
    who = Identity(ctx.phone, ctx.email)
    await consent_evidence.apply_suppressions(ctx.session, ctx.lead, who)
    if ctx.fresh:
        consent_evidence.preset_contact_channels(ctx.lead, found)


async def store_lead(
    ctx: StepContext, found: consent_evidence.IntakeConsent | None
) -> dict[str, Any]:
    """Step 8: the lead with its decisions, then the rows that refer to it: its consent
    events and the verification of its consent certificate."""
    if ctx.unsaved is not None:
        await leads_queries.insert_lead(ctx.session, ctx.lead, ctx.unsaved)
    else:
        await ctx.session.flush()
    who = Identity(ctx.phone, ctx.email)
    answer = await consent_evidence.capture_intake_consent(
        ctx.session, ctx.lead, found, who=who, fresh=ctx.fresh
    )
    block = ctx.lead_in.consent
    if block is not None and (block.certificate_url or block.leadid_token):
        await verification.schedule(
            ctx.session,
            ctx.lead,
            certificate_url=block.certificate_url,
            leadid_token=block.leadid_token,
            now=ctx.now,
        )
    return answer


async def emit(ctx: StepContext, answer: dict[str, Any]) -> None:
    """Step 9: the outbox events, in the same transaction as the lead they announce."""
    ctx.offered_slots.extend(answer.get("offered_slots") or ())
    if ctx.resubmission:
        return
    lead, org_id = ctx.lead, ctx.lead.organization_id
    data = outbox.lead_data(lead)
    events: list[tuple[str, dict[str, Any], dt.datetime | None]] = [
        ("lead.received", data, ctx.now)
    ]
    if lead.team_id is not None:
        # The routed event carries the slots to offer on the first call (ids and times).
        routed = {**data, "offered_slots": ctx.offered_slots} if ctx.offered_slots else data
        events.append(("lead.routed", routed, None))
    await outbox.emit_many(ctx.session, org_id, events, lead_id=lead.id)


# --- a simulation: the same steps, rolled back ---------------------------------------------


async def simulate(
    session: AsyncSession,
    org_id: uuid.UUID,
    lead_in: CanonicalLead,
    ruleset: CompiledRuleset | None,
) -> dict[str, Any]:
    """One lead through the unchanged flow inside a savepoint that is then rolled back, so
    its answer is by construction the one posting the lead would get, and it changes
    nothing: routing decides inside the savepoint (no rotation turn spent, no claim)."""
    savepoint = await session.begin_nested()
    try:
        result = await ingest(session, org_id, lead_in, simulation=Simulation(ruleset))
        out = {
            "mode": "lead",
            "resubmission": result.resubmission,
            "routing": routing.answer(result.lead),
            "decision": routing_trace.flat(copy.deepcopy(result.lead.routing_trace)),
        }
    finally:
        await savepoint.rollback()
    return out
