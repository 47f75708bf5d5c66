"""The practice's configuration version: every write to its services, locations, schedules
or scoring settings advances it in the same transaction, so the next lead (in any process)
reads a new `practice_version` and recompiles."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app import configcache
from app.catalog.models import ScoringConfig


async def bump(session: AsyncSession, org_id: uuid.UUID, *, settings: bool = False) -> None:
    """Advance the practice version (and the settings version), creating the row if needed."""
    table = ScoringConfig.__table__
    values: dict[str, Any] = {"practice_version": table.c.practice_version + 1}
    if settings:
        values["settings_version"] = table.c.settings_version + 1
    await session.execute(
        insert(ScoringConfig)
        .values(
            id=uuid.uuid4(),
            organization_id=org_id,
            practice_version=1,
            settings_version=int(settings),
        )
        .on_conflict_do_update(
            index_elements=["organization_id"], set_={**values, "updated_at": func.now()}
        )
    )
    # So this transaction reads the new version (the scoring step's compiled practice).
    configcache.forget(session)
