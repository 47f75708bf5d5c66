"""What scoring reads and writes about availability, apart from the pure decision.

A lead whose matched service has schedules reads the first free slots of that service at
every location offering it (app.availability.offers: one statement), and the core may then
choose its location by the earliest one. The lead keeps where it stands (`availability`,
`first_slot_at`), the assessment the slots considered and why one location won, and the
answer the slots to offer.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.availability import core as availability_core
from app.availability import offers
from app.leads.models import Lead
from app.scoring.core import (
    Assessment,
    CompiledPractice,
    LeadFacts,
    LoadedPractice,
    ServiceMatch,
    Slots,
)
from app.scoring.definitions import ScoringSettings
from app.scoring.text import key as text_key

if TYPE_CHECKING:
    import uuid

NO_AVAILABILITY = "no_availability"


async def scheduled_services(session: AsyncSession, org_id: uuid.UUID) -> frozenset[str]:
    return frozenset(text_key(c) for c in await offers.scheduled_services(session, org_id))


def _window(
    compiled: CompiledPractice, service_code: str, new_patient: bool | None, now: dt.datetime
) -> availability_core.Window:
    defn = compiled.services[text_key(service_code)]
    settings = compiled.settings
    return availability_core.window(
        now, settings.availability_horizon_days, defn.new_patient_slot_types, new_patient
    )


async def slots_for(
    session: AsyncSession,
    lead: Lead,
    facts: LeadFacts,
    service: ServiceMatch,
    loaded: LoadedPractice,
    now: dt.datetime,
) -> Slots | None:
    """The matched service's free slots at the locations offering it, if it has schedules."""
    if service.code is None or text_key(service.code) not in loaded.scheduled:
        return None
    compiled = loaded.compiled
    key = text_key(service.code)
    locations = [loc.defn.id for loc in compiled.locations if key in loc.service_keys]
    win = _window(compiled, service.code, facts.new_patient, now)
    book = await offers.free_slots(
        session, lead.organization_id, service.code, locations, win, lead_id=lead.id
    )
    return Slots(book, now)


def _flags(lead: Lead) -> list[str]:
    return [NO_AVAILABILITY] if lead.availability == NO_AVAILABILITY else []


def record(
    lead: Lead, a: Assessment, settings: ScoringSettings, now: dt.datetime
) -> dict[str, Any]:
    """Write the availability outcome on the lead; the answer's `flags` and `offered_slots`."""
    choice = a.availability
    if choice is None:
        lead.availability, lead.first_slot_at = None, None
        return {"flags": [], "offered_slots": []}
    first = choice.first_slot
    lead.availability = NO_AVAILABILITY if first is None and choice.no_availability else "offered"
    if first is None and not choice.no_availability:
        # Another eligible location has a slot, the kept one (nearest, preferred) none.
        lead.availability = "not_offered"
    lead.first_slot_at = first.start if first else None
    lead.assessment = {
        **lead.assessment,
        "availability": {
            "preference": settings.location_preference,
            "horizon_days": settings.availability_horizon_days,
            "max_miles": settings.availability_max_miles,
            "chosen_location_id": lead.location_id and str(lead.location_id),
            "reason": choice.reason,
            "no_availability": lead.availability == NO_AVAILABILITY,
            "considered": [c.to_json(now) for c in choice.considered],
        },
    }
    return {"flags": _flags(lead), "offered_slots": [s.to_json() for s in choice.offered]}


async def fresh_offer(
    session: AsyncSession, lead: Lead, compiled: CompiledPractice, now: dt.datetime
) -> dict[str, Any]:
    """The lead's flags and the slots to offer it now (a hold of its own counts as free)."""
    slots = await current_offer(session, lead, compiled, now)
    return {"flags": _flags(lead), "offered_slots": [s.to_json() for s in slots]}


async def current_offer(
    session: AsyncSession, lead: Lead, compiled: CompiledPractice, now: dt.datetime
) -> list[availability_core.FreeSlot]:
    if lead.service_code is None or text_key(lead.service_code) not in compiled.services:
        return []
    defn = compiled.services[text_key(lead.service_code)]
    return await offers.offers_for_lead(
        session,
        lead,
        now,
        horizon_days=compiled.settings.availability_horizon_days,
        new_patient_types=defn.new_patient_slot_types,
    )
