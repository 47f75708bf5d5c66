"""A cursor a paged list did not give it is a 422 problem, whatever it holds."""

from __future__ import annotations

import base64

import httpx
import pytest

from tests.conftest import Org

PAGED = ["/v1/leads", "/v1/inbox", "/v1/webhook-deliveries", "/v1/erasure-requests"]
UUID = "00000000-0000-0000-0000-000000000001"


def _b64(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode()


def _cursors(path: str) -> list[str]:
    kind = path.removeprefix("/v1/")
    key = "1" if kind == "audit-events" else UUID
    other = "audit-events" if kind != "audit-events" else "leads"
    return [
        "garbage",
        _b64(f"{kind}|yesterday|{key}"),
        # a far offset at the calendar's edge: past the end of time once in UTC
        _b64(f"{kind}|9999-12-31T23:59:59-23:59|{key}"),
        _b64(f"{kind}|0001-01-01T00:00:00+23:59|{key}"),
        _b64(f"{other}|2026-01-01T00:00:00+00:00|{key}"),  # another list's
        _b64(f"2026-01-01T00:00:00+00:00|{key}"),  # no list named
    ]


@pytest.mark.parametrize(
    ("path", "cursor"),
    [(p, c) for p in [*PAGED, "/v1/audit-events"] for c in _cursors(p)],
)
async def test_a_cursor_the_list_did_not_give_is_a_422_problem(
    client: httpx.AsyncClient, org: Org, path: str, cursor: str
) -> None:
    r = await client.get(path, params={"cursor": cursor}, headers=org.headers)
    assert r.status_code == 422, (path, r.text)
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["type"].endswith("/invalid-cursor")


@pytest.mark.parametrize("path", [*PAGED, "/v1/audit-events"])
async def test_a_cursor_of_this_list_is_read(
    client: httpx.AsyncClient, org: Org, path: str
) -> None:
    kind = path.removeprefix("/v1/")
    key = "1" if kind == "audit-events" else UUID
    cursor = _b64(f"{kind}|2026-01-01T00:00:00+00:00|{key}")
    r = await client.get(path, params={"cursor": cursor}, headers=org.headers)
    assert r.status_code == 200, r.text
