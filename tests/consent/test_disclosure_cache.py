"""Disclosure ids remembered in the process: only rows seen committed, never a rolled-back one."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.consent import evidence
from app.consent.models import ConsentDisclosure
from tests.conftest import Org


async def test_only_committed_disclosures_are_remembered(engine: AsyncEngine, org: Org) -> None:
    text = f"I agree to be called about my appointment ({uuid.uuid4()})."
    key = (org.id, evidence.disclosure_hash(text))
    async with AsyncSession(engine) as s:
        rolled_back = await evidence.disclosure_id(s, org.id, text)
        assert key not in evidence._known_disclosures  # this transaction may still roll back
        await s.rollback()
    async with AsyncSession(engine) as s, s.begin():
        stored = await evidence.disclosure_id(s, org.id, text)
        assert stored != rolled_back and key not in evidence._known_disclosures
    async with AsyncSession(engine) as s:
        assert await evidence.disclosure_id(s, org.id, text) == stored
        assert evidence._known_disclosures[key] == stored
        # From now on no query: the remembered id is the committed row's.
        assert await evidence.disclosure_id(s, org.id, text) == stored
        row = await s.scalar(select(ConsentDisclosure).where(ConsentDisclosure.id == stored))
        assert row is not None and row.text.decode() == text
