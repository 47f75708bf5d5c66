"""Recording appointments: create, change in order, refuse what FHIR doesn't allow.

Every change locks the lead first, so concurrent outcomes for one lead apply one at a time
and the derived lead status sees them all.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.appointments import core, transitions
from app.appointments.core import AppointmentData
from app.appointments.models import Appointment
from app.appointments.schemas import AppointmentOut, Outcome
from app.availability import booking
from app.db import utcnow
from app.errors import Conflict, Unprocessable
from app.leads import status as lead_status
from app.leads.models import Lead
from app.outbox import service as outbox
from app.outreach import history as lead_history
from app.tenancy import get_owned, scoped


class TransitionRefused(Conflict):
    type, title = "appointment-transition", "Appointment status change not allowed"


@dataclass(frozen=True)
class Applied:
    appointment: Appointment
    outcome: Outcome
    lead_status: str

    def out(self) -> AppointmentOut:
        return to_out(self.appointment, self.lead_status, self.outcome)


def to_out(appt: Appointment, lead_status_: str, outcome: Outcome | None = None) -> AppointmentOut:
    return AppointmentOut(
        id=appt.id,
        lead_id=appt.lead_id,
        external_id=appt.external_id,
        status=appt.status,
        cancellation_reason=appt.cancellation_reason,
        location=appt.location,
        provider=appt.provider,
        service=appt.service,
        start=appt.start,
        end=appt.end,
        version=appt.version,
        source_version=appt.source_version,
        source_updated_at=appt.source_updated_at,
        created_at=appt.created_at,
        updated_at=appt.updated_at,
        lead_status=lead_status_,
        outcome=outcome,
    )


def data_of(appt: Appointment) -> AppointmentData:
    return AppointmentData(
        status=appt.status,
        external_id=appt.external_id,
        cancellation_reason=appt.cancellation_reason,
        location=appt.location,
        provider=appt.provider,
        service=appt.service,
        start=appt.start,
        end=appt.end,
        source_version=appt.source_version,
        source_updated_at=appt.source_updated_at,
        external_system=appt.external_system,
        provider_participant=appt.provider_participant,
    )


def _event_data(appt: Appointment, status: str, **extra: object) -> dict[str, object]:
    # Thin: ids and codes. Times and places are fetched through the API.
    return {"appointment_id": appt.id, "status": appt.status, "lead_status": status, **extra}


async def _by_external_id(
    session: AsyncSession, org_id: uuid.UUID, external_id: str
) -> Appointment | None:
    # Two senders creating the same external id at once must not both insert.
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"),
        {"k": f"appointment-external:{org_id}:{external_id}"},
    )
    stmt = scoped(Appointment, org_id).where(Appointment.external_id == external_id)
    stmt = stmt.with_for_update().execution_options(populate_existing=True)
    return (await session.execute(stmt)).scalar_one_or_none()


async def submit(
    session: AsyncSession, org_id: uuid.UUID, lead_id: uuid.UUID, data: AppointmentData
) -> Applied:
    """Create an appointment on the lead, or apply it to the one with the same external id."""
    _check_invariants(data)
    lead = await get_owned(session, Lead, lead_id, org_id, for_update=True)
    lead_status.refuse_if_erased(lead)
    if data.external_id is not None:
        existing = await _by_external_id(session, org_id, data.external_id)
        if existing is not None:
            if existing.lead_id != lead.id:
                raise Conflict(
                    "This external_id already names an appointment of another lead.",
                    type="appointment-external-id-conflict",
                )
            return await _change(session, lead, existing, data)
    _check_started(data)
    appt = Appointment(id=uuid.uuid4(), organization_id=org_id, lead_id=lead.id, version=1)
    _assign(appt, data)
    session.add(appt)
    await session.flush()
    await _follow_slots(session, appt, data)
    status = await lead_history.recompute(session, lead)
    await outbox.emit(
        session, org_id, "appointment.booked", _event_data(appt, status), lead_id=lead.id
    )
    return Applied(appt, "created", status)


async def change(
    session: AsyncSession,
    org_id: uuid.UUID,
    appointment_id: uuid.UUID | str,
    data: AppointmentData | None = None,
    patch: dict[str, object] | None = None,
) -> Applied:
    """Apply a full replacement (`data`, e.g. a FHIR PUT) or a partial one (`patch`)."""
    found = await get_owned(session, Appointment, appointment_id, org_id)
    lead = await get_owned(session, Lead, found.lead_id, org_id, for_update=True)
    lead_status.refuse_if_erased(lead)
    appt = await get_owned(session, Appointment, found.id, org_id, for_update=True)
    if data is None:
        data = _merge_patch(lead, appt, patch or {})
        if data is None:
            return Applied(appt, "ignored_older", lead.status)
    elif data.external_id is None:
        # A FHIR PUT without `identifier` keeps the link to the sender's appointment.
        data = data.replace(external_id=appt.external_id, external_system=appt.external_system)
    if data.external_id is not None and data.external_id != appt.external_id:
        other = await _by_external_id(session, org_id, data.external_id)
        if other is not None:
            raise Conflict(
                "This external_id already names another appointment.",
                type="appointment-external-id-conflict",
            )
    return await _change(session, lead, appt, data)


def _merge_patch(lead: Lead, appt: Appointment, patch: dict[str, object]) -> AppointmentData | None:
    """The appointment with the patch applied, or None when the patch is older than it.

    Order, then transition, then invariants: a late or forbidden change is answered as such,
    not as an invalid one.
    """
    current = data_of(appt)
    merged = current.replace(**{"source_version": None, "source_updated_at": None, **patch})
    order = core.compare(
        appt.source_version, appt.source_updated_at, merged.source_version, merged.source_updated_at
    )
    if order == "older":
        return None
    _check_transition(appt, merged.status)
    # A canonical change of the id or the provider leaves the FHIR forms they came with.
    if "external_id" in patch:
        merged = merged.replace(external_system=None)
    if "provider" in patch:
        merged = merged.replace(provider_participant=None)
    if "cancellation_reason" not in patch and merged.status not in transitions.WITH_REASON:
        merged = merged.replace(cancellation_reason=None)
    _check_invariants(merged)
    return merged


def _check_transition(appt: Appointment, new_status: str) -> None:
    if not transitions.allowed(appt.status, new_status):
        raise TransitionRefused(
            f"An appointment cannot go from `{appt.status}` to `{new_status}`; "
            "a rebooking is a new appointment.",
            extra={"current_status": appt.status, "requested_status": new_status},
        )


def _check_started(data: AppointmentData) -> None:
    if core.not_started(data, utcnow()):
        raise Unprocessable(
            "An appointment cannot be `fulfilled` before its start.",
            type="appointment-not-started",
            title="Appointment not started",
            extra={"errors": [{"field": "status", "message": "fulfilled before the start"}]},
        )


def _check_invariants(data: AppointmentData) -> None:
    problems = core.invariant_problems(data)
    if problems:
        raise Unprocessable("The appointment is invalid; see `errors`.", extra={"errors": problems})


async def _change(
    session: AsyncSession, lead: Lead, appt: Appointment, data: AppointmentData
) -> Applied:
    order = core.compare(
        appt.source_version, appt.source_updated_at, data.source_version, data.source_updated_at
    )
    if order == "older":
        return Applied(appt, "ignored_older", lead.status)
    changed = core.changed_fields(data_of(appt), data)
    if order == "same" or not changed:
        await _follow_slots(session, appt, data)
        return Applied(appt, "unchanged", lead.status)
    _check_transition(appt, data.status)
    _check_started(data)
    previous = appt.status
    _assign(appt, data)
    appt.version += 1
    await session.flush()
    await _follow_slots(session, appt, data)
    status = await lead_history.recompute(session, lead)
    await outbox.emit(
        session,
        lead.organization_id,
        "appointment.updated",
        _event_data(appt, status, previous_status=previous, changed=changed),
        lead_id=lead.id,
    )
    return Applied(appt, "updated", status)


async def _follow_slots(session: AsyncSession, appt: Appointment, data: AppointmentData) -> None:
    """The slots the appointment names are booked; a cancelled one frees what it took."""
    await booking.follow_appointment(
        session, appt.organization_id, appt.id, appt.status, data.slots
    )


def _assign(appt: Appointment, data: AppointmentData) -> None:
    for name in core.FIELDS:
        setattr(appt, name, getattr(data, name))
    appt.source_version = data.source_version or appt.source_version
    appt.source_updated_at = data.source_updated_at or appt.source_updated_at


async def list_for_lead(
    session: AsyncSession, org_id: uuid.UUID, lead_id: uuid.UUID
) -> tuple[Lead, Sequence[Appointment]]:
    lead = await get_owned(session, Lead, lead_id, org_id)
    stmt = (
        scoped(Appointment, org_id)
        .where(Appointment.lead_id == lead.id)
        .order_by(Appointment.created_at, Appointment.id)
    )
    return lead, (await session.execute(stmt)).scalars().all()
