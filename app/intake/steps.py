"""The pipeline steps after a new lead is stored, in the order of the one data path:
score → route → consent → outbox event. Each returns what the sender's answer should carry.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.intake.canonical import CanonicalLead
from app.intake.models import Source
from app.leads.models import Lead


@dataclass(frozen=True)
class StepContext:
    session: AsyncSession
    lead: Lead
    lead_in: CanonicalLead
    source: Source | None
    now: dt.datetime
    resubmission: bool


async def after_store(ctx: StepContext) -> dict[str, Any]:
    """Run the decision steps for a stored submission; a resubmission keeps its decisions."""
    answer: dict[str, Any] = {}
    return answer
