"""What the intake flow's steps share about the submission they are deciding on.

The flow (app.intake.flow) builds it; the domains' steps (scoring, routing, consent) read it.
It lives beside the lead so that both can import it and neither imports the other.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.leads.canonical import CanonicalLead
from app.leads.models import Lead, LeadSubmission, Source


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
    # A new lead's submission: the lead is in no session yet, and both rows are written
    # by one statement once the decisions are made (app.leads.queries).
    unsaved: LeadSubmission | None = None
    # The slots the answer offers, for the routed event (app.scoring.availability).
    offered_slots: list[dict[str, Any]] = field(default_factory=list)
