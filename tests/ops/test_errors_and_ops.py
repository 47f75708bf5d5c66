from __future__ import annotations

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import RateLimited
from app.ratelimit import WindowLimiter
from tests.conftest import ClientWith, Org

PROBLEM = "application/problem+json"


def assert_problem(r: httpx.Response, status: int) -> dict[str, object]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == PROBLEM
    body = dict(r.json())
    assert {"type", "title", "status", "detail", "instance"} <= body.keys()
    assert body["status"] == status
    assert "Traceback" not in r.text and "SELECT" not in r.text
    return body


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status"),
    [
        ("GET", "/nope", {}, 404),
        ("PUT", "/healthz", {}, 405),
        (
            "POST",
            "/v1/api-keys",
            {"content": b"{not json", "headers": {"content-type": "application/json"}},
            400,
        ),
        (
            "POST",
            "/v1/api-keys",
            {"content": b"name=k", "headers": {"content-type": "text/plain"}},
            422,
        ),
        ("POST", "/v1/api-keys", {"content": b"x" * (2 * 1024 * 1024)}, 413),
        (
            "POST",
            "/v1/api-keys",
            {"content": b"\xff\xfe{", "headers": {"content-type": "application/json"}},
            400,
        ),
    ],
)
async def test_bad_requests_are_problems_never_500(
    client: httpx.AsyncClient,
    org: Org,
    method: str,
    path: str,
    kwargs: dict[str, object],
    status: int,
) -> None:
    headers = {**org.headers, **dict(kwargs.pop("headers", {}))}  # type: ignore[call-overload]
    r = await client.request(method, path, headers=headers, **kwargs)  # type: ignore[arg-type]
    assert_problem(r, status)


async def test_chunked_oversized_body_is_413(client: httpx.AsyncClient, org: Org) -> None:
    async def chunks():  # type: ignore[no-untyped-def]
        for _ in range(3):
            yield b"x" * (512 * 1024)

    r = await client.post("/v1/api-keys", content=chunks(), headers=org.headers)
    assert_problem(r, 413)


async def test_request_id_is_honoured_or_generated(client: httpx.AsyncClient) -> None:
    r = await client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert r.headers["x-request-id"] == "abc-123"
    r = await client.get("/healthz", headers={"X-Request-ID": "bad id with spaces"})
    assert (
        r.headers["x-request-id"] != "bad id with spaces" and len(r.headers["x-request-id"]) == 32
    )


async def test_readyz_reports_database_and_migration(client: httpx.AsyncClient) -> None:
    r = await client.get("/readyz")
    assert r.status_code == 200
    assert r.json()["status"] == "ready" and r.json()["migration"]


async def test_metrics_use_route_templates_not_ids(client: httpx.AsyncClient, org: Org) -> None:
    await client.delete("/v1/api-keys/8b1c1bd6-3a5b-4b6e-9a8c-4c3b2a1d0e9f", headers=org.headers)
    body = (await client.get("/metrics")).text
    assert 'route="/v1/api-keys/{key_id}"' in body
    assert "8b1c1bd6" not in body


def test_rate_limiter_answers_429_with_retry_after() -> None:
    limiter = WindowLimiter(60)
    for _ in range(3):
        limiter.hit("k", 3, now=100.0)
    with pytest.raises(RateLimited) as exc:
        limiter.hit("k", 3, now=110.0)
    assert exc.value.headers["Retry-After"] == "50"
    limiter.hit("k", 3, now=161.0)  # a new window


async def test_rate_limit_per_key_over_http(client_with: ClientWith, org: Org) -> None:
    async with client_with(rate_limit_per_minute=2) as c:
        codes = [(await c.get("/v1/api-keys", headers=org.headers)).status_code for _ in range(3)]
        assert codes[:2] == [200, 200]
        last = await c.get("/v1/api-keys", headers=org.headers)
    body = assert_problem(last, 429)
    assert int(last.headers["retry-after"]) >= 1
    assert str(body["type"]).endswith("/rate-limited")


async def test_audit_events_refuse_update_and_delete(session: AsyncSession, org: Org) -> None:
    await session.execute(
        text("INSERT INTO audit_events (organization_id, action) VALUES (:o, 'test.event')"),
        {"o": org.id},
    )
    for stmt in ("UPDATE audit_events SET action = 'x'", "DELETE FROM audit_events"):
        with pytest.raises(DBAPIError, match="append-only"):
            async with session.begin_nested():
                await session.execute(text(stmt + " WHERE organization_id = :o"), {"o": org.id})
