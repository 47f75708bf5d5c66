"""A lead's status, derived from its history in one place.

new → routed → contacted → booked → completed, or not_qualified, unreachable, lost, no_show;
pending_retrieval while a Meta lead's data is still being fetched. Callers change facts
(routing, attempts, appointments) and then call `refresh`, never set `status` themselves.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from app.appointments.core import summarize
from app.appointments.models import Appointment
from app.errors import Conflict
from app.leads.models import Lead
from app.outbox.service import record_event
from app.outreach.history import attempt_facts
from app.tenancy import scoped


class LeadErased(Conflict):
    type, title = "lead-erased", "Lead erased"


def refuse_if_erased(lead: Lead) -> None:
    """Nothing new is recorded about a person whose lead was erased: an attempt, an
    appointment or a hold would start a history again that the erasure ended."""
    if lead.erased_at is not None:
        raise LeadErased("This lead was erased; nothing more can be recorded on it.")


@dataclass(frozen=True, slots=True)
class History:
    """Facts kept outside the lead row (appointments, attempts), loaded by the caller."""

    appointment_status: str | None = None  # the latest appointment's FHIR status
    had_no_show: bool = False
    unreachable: bool = False  # attempts exhausted without a connection
    lost: bool = False  # closed without booking (e.g. declined)


def derive(lead: Lead, history: History = History()) -> str:
    if lead.pii is None and lead.status == "pending_retrieval":
        return "pending_retrieval"
    appt = history.appointment_status
    if appt == "fulfilled":
        return "completed"
    if appt in ("booked", "arrived", "checked-in", "pending", "proposed", "waitlist"):
        return "booked"
    if appt == "noshow" or (history.had_no_show and appt in (None, "cancelled")):
        return "no_show"
    if history.lost:
        return "lost"
    if lead.first_connected_at is not None:
        return "contacted"
    if history.unreachable:
        return "unreachable"
    if lead.qualified is False:
        return "not_qualified"
    if lead.routed_at is not None:
        return "routed"
    return "new"


def refresh(lead: Lead, history: History = History()) -> str:
    lead.status = derive(lead, history)
    return lead.status


async def load_history(session: AsyncSession, lead: Lead) -> History:
    """The facts outside the lead row. Contact attempts add `unreachable`/`lost` here."""
    statuses = (
        await session.execute(
            scoped(Appointment, lead.organization_id)
            .with_only_columns(Appointment.status)
            .where(Appointment.lead_id == lead.id)
            .order_by(Appointment.created_at, Appointment.id)
        )
    ).scalars()
    appointment_status, had_no_show = summarize(list(statuses))
    unreachable, lost = await attempt_facts(session, lead)
    return History(
        appointment_status=appointment_status,
        had_no_show=had_no_show,
        unreachable=unreachable,
        lost=lost,
    )


async def recompute(session: AsyncSession, lead: Lead) -> str:
    """Load the history, derive the status, and put a change on the lead's timeline."""
    before = lead.status
    after = refresh(lead, await load_history(session, lead))
    if after != before:
        await record_event(session, lead, "lead.status_changed", {"from": before, "to": after})
    return after
