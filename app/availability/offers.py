"""Reading free slots: for a decision, for the offer on a lead, and holds on them.

The earliest free slots of a service at each candidate location come from one statement:
a LATERAL subquery per location, each one range scan of `ix_availability_slots_free`
(organisation, location, service, start) that stops after the first few rows in the window.
A slot held for another lead is skipped until its hold lapses; nothing has to release it.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.availability import core, queries
from app.availability.core import FreeSlot, SlotBook, Window
from app.availability.models import Schedule, Slot
from app.errors import Conflict, NotFound
from app.leads.models import Lead
from app.tenancy import scoped

_NO_LEAD = uuid.UUID(int=0)


async def free_slots(
    session: AsyncSession,
    org_id: uuid.UUID,
    service: str,
    location_ids: Sequence[str | uuid.UUID],
    win: Window,
    *,
    lead_id: uuid.UUID | None = None,
    per_location: int = core.OFFERED,
) -> SlotBook:
    """The first `per_location` free slots of the service at each location within `win`."""
    if not location_ids:
        return SlotBook.build(service, ())
    params = {
        "org": org_id,
        "service": service,
        "locations": [uuid.UUID(str(i)) for i in location_ids],
        "now": win.now,
        "until": win.until,
        "lead": lead_id or _NO_LEAD,
        "per_location": per_location,
    }
    if win.types is not None:
        params["types"] = sorted(win.types)
    rows = await queries.free_slots(session, params, typed=win.types is not None)
    return SlotBook.build(
        service,
        (FreeSlot(r[0], r[1], r[2], str(r[3]), service, r[4], r[5]) for r in rows),
    )


async def offers_for_lead(
    session: AsyncSession,
    lead: Lead,
    now: dt.datetime,
    *,
    horizon_days: int,
    new_patient_types: Sequence[str],
) -> list[FreeSlot]:
    """The earliest free slots fitting the lead at its location, as of `now`."""
    if lead.location_id is None or lead.service_code is None or lead.availability is None:
        return []
    win = core.window(now, horizon_days, new_patient_types, lead.new_patient)
    book = await free_slots(
        session, lead.organization_id, lead.service_code, [lead.location_id], win, lead_id=lead.id
    )
    return list(core.matching(book, str(lead.location_id), win))


class SlotUnavailable(Conflict):
    type, title = "slot-unavailable", "Slot not available"


async def hold(
    session: AsyncSession, lead: Lead, slot_external_id: str, minutes: int, now: dt.datetime
) -> Slot:
    """Hold a free slot for the lead: others are not offered it until `now + minutes`."""
    stmt = (
        scoped(Slot, lead.organization_id)
        .where(Slot.external_id == slot_external_id)
        .with_for_update()
    )
    slot = (await session.execute(stmt)).scalar_one_or_none()
    if slot is None:
        raise NotFound("No slot with this id.")
    held_by_other = (
        slot.held_until is not None and slot.held_until > now and slot.held_for_lead != lead.id
    )
    if slot.status != core.FREE or held_by_other or slot.start <= now:
        raise SlotUnavailable(
            "The slot is no longer free (booked, held for another lead, or past)."
        )
    slot.held_until = now + dt.timedelta(minutes=minutes)
    slot.held_for_lead = lead.id
    await session.flush()
    return slot


def shown_status(slot: Slot, now: dt.datetime) -> str:
    """What a reader sees: a live hold is `busy-tentative`."""
    if slot.status == core.FREE and slot.held_until is not None and slot.held_until > now:
        return "busy-tentative"
    return slot.status


async def scheduled_services(session: AsyncSession, org_id: uuid.UUID) -> frozenset[str]:
    """The service codes some active schedule of the organisation books."""
    stmt = select(Schedule.service_codes).where(Schedule.organization_id == org_id, Schedule.active)
    return frozenset(code for codes in (await session.execute(stmt)).scalars() for code in codes)
