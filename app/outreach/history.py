"""What a lead's contact attempts say about its status (read by app.leads.status)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.leads.models import Lead
from app.outreach.models import FAILED_OUTCOMES, ContactAttempt

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
