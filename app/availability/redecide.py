"""New free slots may help leads still waiting for their first call: queue a re-decision.

The job (app.lifecycle.reroute, kind `availability.redecide`) runs after the commit, so a
5,000-slot Bundle is answered as fast as it is stored.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from app.availability.service import Written
from app.jobs import service as jobs

REDECIDE = "availability.redecide"
# Leads older than this are not re-decided: their first call is long due.
LOOKBACK_DAYS = 21


async def after_write(session: AsyncSession, org_id: uuid.UUID, written: Written) -> None:
    if not written.freed:
        return
    payload = {
        "services": {k: v.isoformat() for k, v in sorted(written.freed.items())},
        "horizon_days": LOOKBACK_DAYS,
    }
    await jobs.enqueue(session, REDECIDE, payload, org_id=org_id)
