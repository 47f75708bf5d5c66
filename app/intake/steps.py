"""The pipeline steps after a new lead is stored, in the order of the one data path:
score → route → consent → outbox event. Each returns what the sender's answer should carry.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.intake import store
from app.intake.canonical import CanonicalLead
from app.intake.models import Source
from app.leads.models import Lead, LeadSubmission
from app.routing.rules import CompiledRuleset


@dataclass(frozen=True)
class StepContext:
    session: AsyncSession
    lead: Lead
    lead_in: CanonicalLead
    source: Source | None
    now: dt.datetime
    resubmission: bool
    # The lead row was created by this submission: nothing else can have been recorded on it.
    fresh: bool = False
    # The submission's phone (E.164) and email as normalisation left them, so later steps
    # need not parse them again.
    phone: str | None = None
    email: str | None = None
    # The channels suppressed for that phone and email, read with the identity lock.
    suppressed: frozenset[str] | None = None
    # A new lead's submission: the lead is in no session yet, and both rows are written
    # by one statement once the decisions are made (app.intake.store).
    unsaved: LeadSubmission | None = None
    # The slots the answer offers, for the routed event (app.scoring.availability).
    offered_slots: list[dict[str, Any]] = field(default_factory=list)
    # Where routing commits its member choice (app.routing.service.route_lead): None for a
    # simulation, which decides inside its own transaction and rolls it back.
    route_apart: AsyncEngine | None = None
    # A draft rule set to route with instead of the live one (a simulation).
    ruleset: CompiledRuleset | None = None


async def duplicate_window(session: AsyncSession, org_id: uuid.UUID) -> dt.timedelta:
    """The organisation's duplicate window (scoring settings), for dedup."""
    from app.scoring import service as scoring_service

    return await scoring_service.duplicate_window(session, org_id)


async def after_store(ctx: StepContext) -> dict[str, Any]:
    """Run the decision steps for a stored submission; a resubmission keeps its decisions."""
    # Imported here: app.scoring.service reads leads through app.intake.pipeline.
    from app.consent import evidence as consent_evidence
    from app.consent.service import Identity
    from app.routing import service as routing_service
    from app.scoring import service as scoring_service

    answer: dict[str, Any] = {}
    who = Identity(ctx.phone, ctx.email)
    consent = consent_evidence.intake_consent(ctx.lead_in, ctx.source, ctx.now)
    # A new lead is written once, after scoring and routing, by one INSERT carrying their
    # columns (app.intake.store), instead of an INSERT and an UPDATE per step; a stored
    # lead's changes wait for the flush below.
    with ctx.session.no_autoflush:
        answer.update(await scoring_service.assess_lead(ctx.session, ctx))
        # Every statement from routing on runs inside the team's rotation lock, which the
        # team's leads pass one at a time: what needs no routing goes first.
        await consent_evidence.apply_suppressions(ctx.session, ctx.lead, who, ctx.suppressed)
        if ctx.fresh:
            consent_evidence.preset_contact_channels(ctx.lead, consent)
        answer.update(await routing_service.route_step(ctx))
    # Consent events and the timeline refer to the lead row.
    if ctx.unsaved is not None:
        await store.insert_new(ctx.session, ctx.lead, ctx.unsaved, ctx.now)
    else:
        await ctx.session.flush()
    answer.update(
        await consent_evidence.capture_intake_consent(
            ctx.session, ctx.lead, consent, who=who, fresh=ctx.fresh
        )
    )
    block = ctx.lead_in.consent
    if block is not None and (block.certificate_url or block.leadid_token):
        from app.integrations import verification

        await verification.schedule(
            ctx.session,
            ctx.lead,
            certificate_url=block.certificate_url,
            leadid_token=block.leadid_token,
            now=ctx.now,
        )
    ctx.offered_slots.extend(answer.get("offered_slots") or ())
    await emit_events(ctx)
    return answer


async def emit_events(ctx: StepContext) -> None:
    """Last step: the outbox events, in the same transaction as the lead they announce."""
    from app.handoff import service as handoff

    if ctx.resubmission:
        return
    lead, org_id = ctx.lead, ctx.lead.organization_id
    data = handoff.lead_data(lead)
    events: list[tuple[str, dict[str, Any], dt.datetime | None]] = [
        ("lead.received", data, ctx.now)
    ]
    if lead.team_id is not None:
        # The routed event carries the slots to offer on the first call (ids and times).
        routed = {**data, "offered_slots": ctx.offered_slots} if ctx.offered_slots else data
        events.append(("lead.routed", routed, None))
    await handoff.emit_many(ctx.session, org_id, events, lead_id=lead.id)
