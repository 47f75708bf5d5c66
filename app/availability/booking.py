"""Appointments that name their slot (FHIR `Appointment.slot`) take it off the offer.

A slot becomes `busy` with the appointment that booked it; when that appointment is
cancelled or entered in error, the slot it took is free again (unless the scheduler has
said otherwise since: the scheduler's next version of the slot wins either way).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from app.availability.models import Slot
from app.db import utcnow

FREEING = frozenset({"cancelled", "entered-in-error"})
TAKING = frozenset({"pending", "booked", "arrived", "fulfilled", "checked-in", "noshow"})


def slot_ids(references: Sequence[str]) -> list[str]:
    """`Slot/{id}` references as the scheduler's ids."""
    return [r.split("/", 1)[1] for r in references if r.startswith("Slot/") and len(r) > 5]


async def follow_appointment(
    session: AsyncSession,
    org_id: uuid.UUID,
    appointment_id: uuid.UUID,
    status: str,
    references: Sequence[str],
) -> int:
    """Mark the appointment's slots busy, or free the ones it took; how many changed."""
    now = utcnow()
    table = Slot.__table__
    if status in FREEING:
        stmt = (
            update(Slot)
            .where(
                Slot.organization_id == org_id,
                Slot.appointment_id == appointment_id,
                Slot.status == "busy",
            )
            .values(status="free", appointment_id=None, version=table.c.version + 1, updated_at=now)
        )
    elif status in TAKING and references:
        stmt = (
            update(Slot)
            .where(
                Slot.organization_id == org_id,
                Slot.external_id.in_(slot_ids(references)),
                Slot.status != "busy",
            )
            .values(
                status="busy",
                appointment_id=appointment_id,
                held_until=None,
                held_for_lead=None,
                version=table.c.version + 1,
                updated_at=now,
            )
        )
    else:
        return 0
    result = await session.execute(stmt.execution_options(synchronize_session=False))
    return int(getattr(result, "rowcount", 0) or 0)
