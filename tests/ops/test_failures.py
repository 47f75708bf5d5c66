"""What a request that failed on our side answers, and its one log line.

The end-to-end behaviour (PostgreSQL stopped under load) is in test_faults.py; here, a
database that refuses connections for real (an engine pointed at a port nobody listens on)
shows each kind of answer in-process, and the classifier is checked on the driver's own
exception classes.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from app.console.auth import SESSION_COOKIE, _serializer
from app.db import database_unavailable, db
from app.handoff import subscriptions
from app.main import create_app
from app.ops import failures
from tests.conftest import Org, _client, make_settings
from tests.support.pgcluster import free_port

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def _wrapped(exc: Exception) -> DBAPIError:
    return DBAPIError("SELECT 1", None, exc)


@pytest.mark.parametrize(
    ("exc", "unavailable"),
    [
        (ConnectionRefusedError(111, "Connection refused"), True),
        (ConnectionResetError(104, "Connection reset by peer"), True),
        (TimeoutError(), True),  # a connect that timed out
        (PoolTimeout("QueuePool limit of size 10 overflow 10 reached"), True),
        (asyncpg.CannotConnectNowError("the database system is starting up"), True),
        (asyncpg.AdminShutdownError("terminating connection due to administrator command"), True),
        (asyncpg.TooManyConnectionsError("sorry, too many clients already"), True),
        (asyncpg.ConnectionDoesNotExistError("connection was closed in the middle"), True),
        (asyncpg.InterfaceError("connection is closed"), True),
        (asyncpg.QueryCanceledError("canceling statement due to statement timeout"), True),
        (asyncpg.DeadlockDetectedError("deadlock detected"), True),
        (_wrapped(asyncpg.CannotConnectNowError("the database system is shutting down")), True),
        (DBAPIError("SELECT 1", None, ValueError(), connection_invalidated=True), True),
        (IntegrityError("INSERT", None, asyncpg.UniqueViolationError("duplicate key")), False),
        (_wrapped(asyncpg.NotNullViolationError("null value in column")), False),
        (_wrapped(asyncpg.UntranslatableCharacterError("unsupported Unicode escape")), False),
        (
            asyncpg.InterfaceError("cannot perform operation: another operation is in progress"),
            False,
        ),
        (ValueError("bad"), False),
        (TypeError("can't compare offset-naive and offset-aware datetimes"), False),
    ],
)
def test_database_unavailable_is_judged_on_the_drivers_errors(
    exc: Exception, unavailable: bool
) -> None:
    assert database_unavailable(exc) is unavailable


def test_an_error_raised_while_handling_a_lost_connection_is_unavailable_too() -> None:
    try:
        try:
            raise ConnectionResetError(104, "Connection reset by peer")
        except ConnectionResetError:
            raise RuntimeError("rollback failed") from None
    except RuntimeError as suppressed:
        assert not database_unavailable(suppressed)  # `from None`: not its cause
    try:
        try:
            raise asyncpg.AdminShutdownError("terminating connection")
        except asyncpg.AdminShutdownError:
            raise asyncpg.InterfaceError("cannot call Connection.execute(): closed") from None
    except asyncpg.InterfaceError as lost:
        assert database_unavailable(lost)


@pytest.fixture
async def refusing_app() -> AsyncIterator[httpx.AsyncClient]:
    """The app on a database whose every connection is refused (nothing listens there)."""
    engine = create_async_engine(f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/x")
    saved = db.engine, db.sessionmaker
    db.engine, db.sessionmaker = engine, async_sessionmaker(engine, expire_on_commit=False)
    try:
        async with _client(create_app(make_settings(), manage_database=False)) as client:
            yield client
    finally:
        db.engine, db.sessionmaker = saved
        await engine.dispose()


def _logged_in(out: str, event: str) -> list[dict[str, Any]]:
    lines = (json.loads(s) for s in out.splitlines() if s.startswith("{"))
    return [e for e in lines if e["event"] == event]


async def test_refused_database_is_503_problem_with_retry_after_and_one_warning(
    refusing_app: httpx.AsyncClient, capfd: pytest.CaptureFixture[str]
) -> None:
    capfd.readouterr()
    r = await refusing_app.get("/v1/api-keys", headers={"Authorization": "Bearer lr_x"})
    assert r.status_code == 503 and r.headers["retry-after"] == "1"
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["type"].endswith("/database-unavailable")
    assert "refused" not in r.text.lower()  # the driver's words stay in the server
    out = capfd.readouterr()
    [line] = _logged_in(out.out, "database_unavailable")
    assert line["level"] == "warning" and line["error_type"] == "ConnectionRefusedError"
    assert line["step"] == "app.auth.service.authenticate" and line["route"] == "/v1/api-keys"
    assert "exception" not in line and "Traceback" not in out.out + out.err
    hook = await refusing_app.post(f"/v1/webhooks/{uuid.uuid4()}", json={"lead": 1})
    assert hook.status_code == 503 and hook.headers["retry-after"] == "1"  # the sender retries
    ready = await refusing_app.get("/readyz")
    assert ready.status_code == 503 and ready.headers["retry-after"]


async def test_a_browser_gets_the_503_as_a_page_and_the_console_its_own(
    refusing_app: httpx.AsyncClient,
) -> None:
    r = await refusing_app.get(
        "/v1/leads", headers={"Authorization": "Bearer lr_x", "Accept": BROWSER}
    )
    assert r.status_code == 503 and r.headers["retry-after"] == "1"
    assert r.headers["content-type"].startswith("text/html") and "<h1>" in r.text
    # A signed-in console page: its session is looked up in the database, which refuses.
    signed = _serializer(make_settings(), "session").dumps(str(uuid.uuid4()))
    refusing_app.cookies.set(SESSION_COOKIE, signed)
    page = await refusing_app.get("/console", headers={"Accept": BROWSER})
    assert page.status_code == 503 and page.headers["retry-after"] == "1"
    assert "cannot reach its database" in page.text  # the console's own error page
    assert page.headers["content-security-policy"]


async def test_a_500_logs_the_exception_and_the_failing_step_without_values(
    client: httpx.AsyncClient,
    org: Org,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    secret = "4155550100"

    def broken(*args: object) -> object:
        raise TypeError(f"can't compare {secret}")  # a message that would leak a value

    monkeypatch.setattr(subscriptions, "scoped", broken)
    capfd.readouterr()
    r = await client.get("/v1/webhook-subscriptions", headers=org.headers)
    assert r.status_code == 500 and r.json()["type"].endswith("/internal-error")
    out = capfd.readouterr()
    [line] = _logged_in(out.out, "unhandled_error")
    assert line["error_type"] == "TypeError"
    assert line["step"] == "app.handoff.subscriptions.list_subscriptions"
    assert line["where"].startswith("app.handoff.subscriptions:")
    assert secret not in out.out + out.err and secret not in r.text
    assert "Traceback" not in out.out + out.err
    # The server keeps the connection: the next request on it is answered.
    assert (await client.get("/healthz")).status_code == 200


async def test_a_flood_of_refusals_adds_one_summary_line_per_period(
    refusing_app: httpx.AsyncClient,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = [100.0]
    monkeypatch.setattr(failures, "_summary", failures.FloodSummary(5.0, lambda: now[0]))
    capfd.readouterr()
    for _ in range(60):  # a refusal every 0.25 s for 15 s
        r = await refusing_app.get("/v1/leads", headers={"Authorization": "Bearer lr_x"})
        assert r.status_code == 503
        now[0] += 0.25
    out = capfd.readouterr().out
    assert len(_logged_in(out, "database_unavailable")) == 60  # still one line each
    summaries = _logged_in(out, "request_failures_summary")
    # A period starts with a failure and is closed by the first one 5 s or more later,
    # which it counts (refusals 1-21 and 22-42); the last one's count waits for a failure.
    assert [(s["database_unavailable"], s["level"]) for s in summaries] == [
        (21, "warning"),
        (21, "warning"),
    ]
    assert all(s["seconds"] == 5.0 for s in summaries)
