from __future__ import annotations

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import Org

PROBLEM = "application/problem+json"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def create_key(client: httpx.AsyncClient, org: Org, scopes: list[str]) -> dict[str, object]:
    r = await client.post("/v1/api-keys", json={"name": "k", "scopes": scopes}, headers=org.headers)
    assert r.status_code == 201, r.text
    return dict(r.json())


async def test_admin_creates_scoped_key_that_cannot_create_keys(
    client: httpx.AsyncClient, org: Org
) -> None:
    created = await create_key(client, org, ["leads:read"])
    token = str(created["key"])
    assert token.startswith("lr_")
    assert created["scopes"] == ["leads:read"]

    r = await client.post(
        "/v1/api-keys", json={"name": "x", "scopes": ["admin"]}, headers=bearer(token)
    )
    assert r.status_code == 403
    assert r.headers["content-type"] == PROBLEM
    assert r.json()["type"].endswith("/forbidden")
    assert "admin" in r.json()["detail"]


async def test_key_is_shown_once_and_stored_only_as_hash(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    created = await create_key(client, org, ["leads:write"])
    listed = (await client.get("/v1/api-keys", headers=org.headers)).json()["data"]
    assert all("key" not in k for k in listed)
    assert str(created["id"]) in {k["id"] for k in listed}
    stored = (await session.execute(text("SELECT key_hash, prefix FROM api_keys"))).all()
    assert all(str(created["key"]) not in (h, p) for h, p in stored)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Basic abc"},
        bearer("lr_nope"),
        bearer("x"),
    ],
)
async def test_missing_or_unknown_key_is_401(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    r = await client.get("/v1/api-keys", headers=headers)
    assert r.status_code == 401
    assert r.headers["content-type"] == PROBLEM
    assert r.headers["www-authenticate"].startswith("Bearer")


async def test_revoked_key_is_401(client: httpx.AsyncClient, org: Org) -> None:
    created = await create_key(client, org, ["admin"])
    assert (
        await client.get("/v1/api-keys", headers=bearer(str(created["key"])))
    ).status_code == 200
    r = await client.delete(f"/v1/api-keys/{created['id']}", headers=org.headers)
    assert r.status_code == 200 and r.json()["revoked_at"]
    r = await client.get("/v1/api-keys", headers=bearer(str(created["key"])))
    assert r.status_code == 401


async def test_expired_key_is_401(client: httpx.AsyncClient, org: Org) -> None:
    r = await client.post(
        "/v1/api-keys",
        json={"name": "old", "scopes": ["admin"], "expires_at": "2020-01-01T00:00:00Z"},
        headers=org.headers,
    )
    assert r.status_code == 201
    r2 = await client.get("/v1/api-keys", headers=bearer(r.json()["key"]))
    assert r2.status_code == 401 and "expired" in r2.json()["detail"]


async def test_other_organisation_key_id_is_404(
    client: httpx.AsyncClient, org: Org, other_org: Org
) -> None:
    created = await create_key(client, org, ["leads:read"])
    r = await client.delete(f"/v1/api-keys/{created['id']}", headers=other_org.headers)
    assert r.status_code == 404
    assert r.headers["content-type"] == PROBLEM
    # and it is untouched for its owner
    listed = (await client.get("/v1/api-keys", headers=org.headers)).json()["data"]
    assert next(k for k in listed if k["id"] == created["id"])["revoked_at"] is None
    assert created["id"] not in {
        k["id"]
        for k in (await client.get("/v1/api-keys", headers=other_org.headers)).json()["data"]
    }


@pytest.mark.parametrize(
    "body",
    [
        {"name": "k", "scopes": ["superuser"]},
        {"name": "k", "scopes": []},
        {"name": "", "scopes": ["admin"]},
        {"name": "k", "scopes": ["admin"], "organization_id": "x"},
    ],
)
async def test_invalid_key_requests_are_422(
    client: httpx.AsyncClient, org: Org, body: dict[str, object]
) -> None:
    r = await client.post("/v1/api-keys", json=body, headers=org.headers)
    assert r.status_code == 422
    assert r.json()["errors"]


async def test_last_used_at_is_recorded(client: httpx.AsyncClient, org: Org) -> None:
    created = await create_key(client, org, ["admin"])
    assert created["last_used_at"] is None
    await client.get("/v1/api-keys", headers=bearer(str(created["key"])))
    listed = (await client.get("/v1/api-keys", headers=org.headers)).json()["data"]
    assert next(k for k in listed if k["id"] == created["id"])["last_used_at"] is not None


async def test_creating_a_key_is_audited(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    created = await create_key(client, org, ["leads:read"])
    row = (
        await session.execute(
            text("SELECT action, actor_key_id, request_id FROM audit_events WHERE target_id = :t"),
            {"t": created["id"]},
        )
    ).one()
    assert row.action == "api_key.create"
    assert row.actor_key_id is not None and row.request_id
