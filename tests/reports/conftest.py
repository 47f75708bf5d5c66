"""The January data set is seeded once per run, committed, in organisations of its own (the
seeding goes through the API and takes seconds); tests only read it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.config import Settings
from app.db import db
from app.main import create_app
from tests.conftest import Org, _client, _make_org
from tests.reports import dataset


@dataclass
class January:
    org: Org
    other: Org
    ids: dict[int, uuid.UUID]


@pytest.fixture(scope="session")
async def january(engine: AsyncEngine, settings: Settings) -> AsyncIterator[January]:
    app = create_app(settings, manage_database=False)
    db.engine = engine
    db.sessionmaker = async_sessionmaker(engine, expire_on_commit=False)
    async with _client(app) as client, AsyncSession(engine, expire_on_commit=False) as session:
        org = await _make_org(session, "January Clinic")
        other = await _make_org(session, "Other January Clinic")
        await session.commit()
        ids = await dataset.seed(client, session, org)
        await dataset.seed_outside(client, session, org)
        await dataset.seed_outside(client, session, other)
        await session.commit()
        yield January(org, other, ids)


async def get(client: httpx.AsyncClient, org: Org, report: str, **params: str) -> dict[str, object]:
    r = await client.get(
        f"/v1/reports/{report}", params={**dataset.PERIOD, **params}, headers=org.headers
    )
    assert r.status_code == 200, r.text
    return dict(r.json())
