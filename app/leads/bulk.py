"""Bulk writes of leads and appointments: the database's derived rows kept per statement.

Triggers keep `lead_metrics`, `lead_rollup` and the member-load counters current as leads
and appointments change (docs/internals.md, "What the database keeps"). Row by row, a statement that
writes thousands of leads of one day (or of one member) updates the same counter rows once
per lead, each update slower than the last within the transaction. After `enable`, until
the transaction ends, statement-level twins of those triggers apply each statement's rows
at once from its transition tables: the same figures, in time linear in the rows.

Use it for imports and seeding, one large statement at a time; the request path stays row
by row, where the rollup's row locks are taken at commit rather than at the statement.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

ENABLE = text("SELECT set_config('lead_router.bulk', 'on', true)")
DISABLE = text("SELECT set_config('lead_router.bulk', 'off', true)")


async def enable(session: AsyncSession) -> None:
    """Bulk mode for the rest of the session's transaction (set_config(..., true))."""
    await session.execute(ENABLE)


async def disable(session: AsyncSession) -> None:
    """Back to row-by-row upkeep for the rest of the transaction."""
    await session.execute(DISABLE)
