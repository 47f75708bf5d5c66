from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from app.db import db
from app.main import create_app
from tests.conftest import make_settings

ClientWith = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
def committed_client_with(engine: AsyncEngine) -> ClientWith:
    """A committing client whose app has these settings overridden."""

    @asynccontextmanager
    async def make(**overrides: object) -> AsyncIterator[httpx.AsyncClient]:
        app = create_app(make_settings(**overrides), manage_database=False)
        db.engine = engine
        db.sessionmaker = async_sessionmaker(engine, expire_on_commit=False)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c

    return make
