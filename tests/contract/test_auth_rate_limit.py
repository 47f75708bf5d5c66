"""Failed authentication is rate limited per client address, so keys cannot be guessed."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import Org, make_settings, serve
from tests.conftest import _client as client_at

BUDGET = 5


@pytest.fixture
def app(engine: AsyncEngine) -> FastAPI:
    return serve(engine, make_settings(auth_failures_per_minute=BUDGET))


def _client(app: FastAPI, address: str) -> httpx.AsyncClient:
    return client_at(app, (address, 4000))


@pytest.fixture
async def guarded(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with _client(app, "203.0.113.7") as c:
        yield c


async def test_bad_keys_from_one_address_get_429_with_retry_after(
    guarded: httpx.AsyncClient, org: Org
) -> None:
    bad = {"Authorization": "Bearer lr_not-a-real-key"}
    codes = [(await guarded.get("/v1/leads", headers=bad)).status_code for _ in range(BUDGET)]
    assert codes == [401] * BUDGET
    r = await guarded.get("/v1/leads", headers=bad)
    assert r.status_code == 429
    assert r.headers["content-type"].startswith("application/problem+json")
    assert 1 <= int(r.headers["Retry-After"]) <= 60
    # Even a good key is refused from that address until the window ends: guessing stops.
    r = await guarded.get("/v1/leads", headers=org.headers)
    assert r.status_code == 429
    # Missing credentials count as failures too.
    r = await guarded.get("/v1/leads")
    assert r.status_code == 429


async def test_good_keys_are_not_counted_and_other_addresses_are_unaffected(
    guarded: httpx.AsyncClient, org: Org, app: FastAPI
) -> None:
    for _ in range(BUDGET * 3):
        assert (await guarded.get("/v1/leads", headers=org.headers)).status_code == 200
    bad = {"Authorization": "Bearer lr_wrong"}
    for _ in range(BUDGET + 1):
        await guarded.get("/v1/leads", headers=bad)
    assert (await guarded.get("/v1/leads", headers=bad)).status_code == 429
    async with _client(app, "198.51.100.9") as other:
        assert (await other.get("/v1/leads", headers=org.headers)).status_code == 200
