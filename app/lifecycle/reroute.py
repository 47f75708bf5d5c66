"""Deciding again when what a lead needs, or where it can be seen, has changed.

Facts corrected by a call (`PATCH /v1/leads/{id}/facts`) or new free slots for its service
re-score the lead; if its service, location or availability moved and nobody has reached
the person yet, it is routed again. The routing trace keeps the earlier decisions under
`previous`. A contacted lead is re-scored but keeps its member: the person already has a
caller.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import structlog
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.availability.redecide import REDECIDE
from app.consent import service as consent_service
from app.db import db, utcnow
from app.jobs.models import Job
from app.jobs.service import registry
from app.leads.models import Lead
from app.outbox import service as outbox
from app.routing import service as routing_service
from app.scoring import service as scoring_service

log = structlog.get_logger("app.lifecycle.reroute")

BATCH = 200
# Statuses before any contact outcome: the lead still waits for its first call.
WAITING = ("new", "routed")


def _where(lead: Lead) -> tuple[Any, ...]:
    # An emergency is routed by its own rules (a nurse line, its short SLA).
    return (
        lead.service_code,
        lead.location_id,
        lead.availability,
        lead.first_slot_at,
        lead.emergency,
    )


def _decision(lead: Lead) -> dict[str, Any]:
    return {
        "team_id": lead.team_id and str(lead.team_id),
        "member_id": lead.member_id and str(lead.member_id),
        "location_id": lead.location_id and str(lead.location_id),
        "routed_at": lead.routed_at and lead.routed_at.isoformat(),
        "trace": {k: v for k, v in (lead.routing_trace or {}).items() if k != "previous"},
    }


async def redecide(
    session: AsyncSession, lead: Lead, reason: str, now: dt.datetime | None = None
) -> dict[str, Any]:
    """Re-score the (locked) lead; route it again when its needs moved and it is not yet
    contacted. Returns the scoring answer plus the routing one."""
    now = now or utcnow()
    before, decided = _where(lead), _decision(lead)
    emergency = lead.emergency
    answer = await scoring_service.rescore(session, lead)
    if lead.emergency != emergency:
        # An emergency may be called back without consent of its own: what the queue
        # shows, and whether it holds the lead at all, changes with it.
        await consent_service.refresh_contact_channels(session, lead)
    moved = _where(lead) != before
    if not moved or lead.routed_at is None:
        return {**answer, **routing_service.answer(lead), "rerouted": False}
    previous = [*(lead.routing_trace or {}).get("previous", []), decided]
    if lead.first_connected_at is not None or lead.status not in WAITING:
        # Reached already: the member keeps the lead; the trace says what changed.
        lead.routing_trace = {
            **routing_service.with_location_choice(lead, lead.routing_trace or {}),
            "previous": previous,
            "kept_member": f"{reason}; contacted already, the member keeps the lead",
        }
        return {**answer, **routing_service.answer(lead), "rerouted": False}
    kind = await routing_service.source_kind(session, lead)
    # Committed apart like intake's choice: the rotation lock is held for the choice only.
    apart = db.routing_engine(session.bind)
    routed = await routing_service.route_lead(session, lead, kind, now, apart=apart)
    lead.routing_trace = {**lead.routing_trace, "previous": previous, "reason": reason}
    data = {**outbox.lead_data(lead), "rerouted": True, "previous": previous[-1]}
    data["previous"] = {k: v for k, v in previous[-1].items() if k != "trace"}
    await outbox.emit(session, lead.organization_id, "lead.routed", data, lead_id=lead.id)
    await session.flush()
    return {**answer, **routed, "rerouted": True}


@registry.register(REDECIDE, max_attempts=5)
async def redecide_for_availability(session: AsyncSession, job: Job) -> None:
    """New free slots: leads of those services still waiting, that had none or a later one."""
    org_id = job.organization_id
    assert org_id is not None
    earliest: dict[str, str] = job.payload.get("services", {})
    if not earliest:
        return
    horizon = dt.timedelta(days=int(job.payload.get("horizon_days", 60)))
    now = utcnow()
    conditions = [
        (Lead.service_code == service)
        & or_(Lead.first_slot_at.is_(None), Lead.first_slot_at > dt.datetime.fromisoformat(at))
        for service, at in earliest.items()
    ]
    stmt = (
        select(Lead)
        .where(
            Lead.organization_id == org_id,
            Lead.availability.is_not(None),
            Lead.first_connected_at.is_(None),
            Lead.erased_at.is_(None),
            Lead.status.in_(WAITING),
            Lead.received_at >= now - horizon,
            or_(*conditions),
        )
        .order_by(Lead.received_at.desc())
        .limit(BATCH)
        .with_for_update(skip_locked=True)
    )
    for lead in (await session.execute(stmt)).scalars():
        try:
            async with session.begin_nested():
                await redecide(session, lead, "new availability", now)
        except Exception as exc:  # one lead must not stop the others
            log.error("redecide_failed", lead_id=str(lead.id), error_type=type(exc).__name__)
