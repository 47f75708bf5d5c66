"""The demo practice with four weeks of history, seeded once per run, committed, in an
organisation of its own (the same code path as `lead-router demo`, fewer days)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.db import utcnow
from app.demo import load, practice, routing, sources
from app.demo.load import HistoryResult
from tests.conftest import Org, _make_org

DAYS = 28


@dataclass
class DemoHistory:
    org: Org
    now: dt.datetime
    result: HistoryResult


async def make_demo_org(session: AsyncSession, name: str) -> Org:
    org = await _make_org(session, name)
    await practice.seed(session, org.id)
    await sources.seed_sources(session, org.id)
    await routing.seed(session, org.id)
    return org


@pytest.fixture(scope="session")
async def demo_history(engine: AsyncEngine) -> AsyncIterator[DemoHistory]:
    now = utcnow()
    async with AsyncSession(engine, expire_on_commit=False) as session:
        org = await make_demo_org(session, f"Demo history {uuid.uuid4().hex[:6]}")
        await session.commit()
        result = await load.seed_history(session, org.id, days=DAYS, now=now)
        await session.commit()
    yield DemoHistory(org, now, result)
