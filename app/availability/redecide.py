"""Re-deciding leads when availability changes (filled in below)."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from app.availability.service import Written


async def after_write(session: AsyncSession, org_id: uuid.UUID, written: Written) -> None:
    del session, org_id, written
