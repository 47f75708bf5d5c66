"""A lead's history outside its row (contact attempts, appointments) and the status it derives.

The derivation itself is app.leads.status; outreach and appointments call `recompute` after
recording an attempt or an appointment."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.appointments.core import summarize
from app.appointments.models import Appointment
from app.leads.models import Lead
from app.leads.status import History, refresh
from app.outbox.service import record_event
from app.outreach.models import FAILED_OUTCOMES, ContactAttempt
from app.tenancy import scoped

# Six outbound tries that reached nobody (about two days of a 3-a-day cadence) and the
# lead stops counting as open work; any later connection makes it `contacted` again.
UNREACHABLE_AFTER = 6


async def attempt_facts(session: AsyncSession, lead: Lead) -> tuple[bool, bool]:
    """(unreachable, lost): attempts exhausted without a connection; contact declined."""
    failed = func.count().filter(
        ContactAttempt.direction == "outbound", ContactAttempt.outcome.in_(FAILED_OUTCOMES)
    )
    connected = func.count().filter(ContactAttempt.outcome == "connected")
    declined = func.count().filter(ContactAttempt.outcome == "do_not_contact_requested")
    row = (
        await session.execute(
            select(failed, connected, declined).where(
                ContactAttempt.organization_id == lead.organization_id,
                ContactAttempt.lead_id == lead.id,
            )
        )
    ).one()
    n_failed, n_connected, n_declined = (int(v or 0) for v in row)
    return n_failed >= UNREACHABLE_AFTER and n_connected == 0, n_declined > 0


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
