"""The one way a lead row comes to be, whatever brought it: a new submission, a Meta lead
waiting for its data, an import. (The demo's history and other bulk loads write many at
once through app.leads.bulk, which handles the triggers for a batch.)

A new lead and its first submission go in one statement: the ORM's flush of these two rows
was the largest share of SQLAlchemy left in an intake request (py-spy), and two round trips.
PostgreSQL checks the submission's foreign key at the end of the statement, when the lead's
row is there. The lead is then attached to the session as if loaded, so a later change to it
is an UPDATE.
"""

from __future__ import annotations

from functools import cache

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached

from app.direct import Direct, fetch, insert_row, row_values
from app.leads.models import Lead, LeadSubmission


@cache
def _stmt(with_submission: bool) -> Direct:
    lead = insert_row(Lead, "l_")
    if not with_submission:
        return Direct(lead)
    return Direct(insert_row(LeadSubmission, "s_").add_cte(lead.returning(Lead.id).cte("new")))


async def insert_lead(
    session: AsyncSession, lead: Lead, submission: LeadSubmission | None = None
) -> None:
    """Write a lead that is in no session yet (and its first submission, if it has one);
    the lead joins the session afterwards."""
    params = row_values(lead, "l_")
    if submission is not None:
        params.update(row_values(submission, "s_"))
    await fetch(session, _stmt(submission is not None), params)
    make_transient_to_detached(lead)
    session.add(lead)
