"""`GET /v1/inbox` pages newest first with an opaque cursor, its filters kept on every page."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.signatures import generate_whsec
from tests.conftest import Org
from tests.intake.helpers import create_source
from tests.intake.test_webhooks import PROBLEM, signed, webhook_path


async def _deliver(
    client: httpx.AsyncClient, org: Org, kind: str, count: int, *, good: bool
) -> tuple[str, list[str]]:
    """`count` signed deliveries to a new source: leads, or (not `good`) quarantined."""
    secret = generate_whsec()
    source = await create_source(client, org, kind, {"secrets": [secret]})
    ids = []
    for n in range(count):
        lead = {"first_name": "Ann", "phone": f"+1 312 555 {1000 + n:04d}"}
        body = json.dumps(lead if good else {"first_name": "Ann"}).encode()
        r = await client.post(
            webhook_path(source), content=body, headers=signed(body, secret, f"{kind}-{n}")
        )
        assert r.status_code == (200 if good else 422), r.text
        ids.append(r.json()["inbox_id"])
    return source["id"], ids


async def _walk(client: httpx.AsyncClient, org: Org, **params: Any) -> list[list[dict[str, Any]]]:
    """Every page, following `next_cursor` until it is null."""
    pages, cursor = [], None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        r = await client.get("/v1/inbox", params=query, headers=org.headers)
        assert r.status_code == 200, r.text
        pages.append(r.json()["data"])
        cursor = r.json()["next_cursor"]
        if cursor is None:
            return pages
        assert len(pages) < 20, "the cursor does not advance"


async def test_following_next_cursor_visits_every_delivery_once_newest_first(
    client: httpx.AsyncClient, org: Org, other_org: Org, session: AsyncSession
) -> None:
    _, ids = await _deliver(client, org, "web_form", 7, good=True)
    await _deliver(client, other_org, "web_form", 3, good=True)
    # Deliveries received in the same instant still page once each (the id breaks the tie).
    await session.execute(
        text("UPDATE inbox_deliveries SET received_at = now() WHERE id = ANY(:ids)"),
        {"ids": ids[2:5]},
    )
    await session.commit()

    pages = await _walk(client, org, limit=3)
    assert [len(p) for p in pages] == [3, 3, 1]
    listed = [d["id"] for p in pages for d in p]
    assert sorted(listed) == sorted(ids)  # each once, none of the other organisation's
    order = [(d["received_at"], d["id"]) for p in pages for d in p]
    assert order == sorted(order, reverse=True)
    # A page that ends exactly at the last delivery says so: no empty page after it.
    assert [len(p) for p in await _walk(client, org, limit=7)] == [7]


async def test_filters_hold_on_every_page(client: httpx.AsyncClient, org: Org) -> None:
    form, form_ids = await _deliver(client, org, "web_form", 3, good=True)
    _, bad_form_ids = await _deliver(client, org, "web_form", 2, good=False)
    partner, partner_bad = await _deliver(client, org, "partner", 3, good=False)

    quarantined = await _walk(client, org, status="quarantined", limit=2)
    assert [len(p) for p in quarantined] == [2, 2, 1]
    assert sorted(d["id"] for p in quarantined for d in p) == sorted(bad_form_ids + partner_bad)
    assert {d["status"] for p in quarantined for d in p} == {"quarantined"}

    both = await _walk(client, org, status="quarantined", source_id=partner, limit=2)
    assert sorted(d["id"] for p in both for d in p) == sorted(partner_bad)

    by_source = await _walk(client, org, source_id=form, limit=2)
    assert sorted(d["id"] for p in by_source for d in p) == sorted(form_ids)


def _b64(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode()


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage",
        "%%%",
        _b64("\xff\xfe"),
        _b64("inbox|yesterday|00000000-0000-0000-0000-000000000001"),
        _b64("inbox|2026-01-01T00:00:00+00:00|not-a-uuid"),
        _b64("inbox|2026-01-01T00:00:00|00000000-0000-0000-0000-000000000001"),  # no zone
        _b64("inbox|9999-12-31T23:59:59-23:59|00000000-0000-0000-0000-000000000001"),
        # a cursor of another list (the leads' or the audit's shape) is not a position here
        _b64("2026-01-01T00:00:00+00:00|00000000-0000-0000-0000-000000000001"),
        _b64("leads|2026-01-01T00:00:00+00:00|00000000-0000-0000-0000-000000000001"),
    ],
)
async def test_a_cursor_this_list_did_not_give_is_a_clear_422(
    client: httpx.AsyncClient, org: Org, cursor: str
) -> None:
    r = await client.get("/v1/inbox", params={"cursor": cursor}, headers=org.headers)
    assert r.status_code == 422 and r.headers["content-type"] == PROBLEM, r.text
    assert r.json()["type"].endswith("/invalid-cursor")
    assert "cursor" in r.json()["detail"]
