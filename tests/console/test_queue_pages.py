"""The queue page walks the API's order page by page, both ways, from cursors."""

from __future__ import annotations

import base64
import datetime as dt
import html
import json
import re
import uuid

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.console import intake
from app.handoff import queue
from app.handoff.queue import Cursor, QueueStatus
from app.leads.models import Lead
from tests.conftest import Org
from tests.console.helpers import post_leads, seed_practice, sign_in

LEAD = re.compile(r'data-lead="([0-9a-f-]+)"')


@pytest.fixture
async def console(client: httpx.AsyncClient) -> httpx.AsyncClient:
    client.base_url = httpx.URL("https://testserver")
    return client


def link(page: httpx.Response, rel: str) -> str | None:
    found = re.search(rf'<a href="([^"]+)" rel="{rel}">', page.text)
    return html.unescape(found.group(1)) if found else None


async def test_pages_follow_the_api_order_forwards_and_back(
    console: httpx.AsyncClient, org: Org, session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    await seed_practice(session, org)
    ids = await post_leads(console, org, 8)
    # Every sort key in play: an emergency, ties on the due time and the score broken by
    # receipt, no due time, no score.
    for sql in (
        "UPDATE leads SET emergency = true WHERE id = :a",
        "UPDATE leads SET sla_due_at = NULL WHERE id = :b",
        "UPDATE leads SET score = NULL WHERE id = :c",
        "UPDATE leads SET sla_due_at = (SELECT sla_due_at FROM leads WHERE id = :a),"
        " score = (SELECT score FROM leads WHERE id = :a) WHERE id = :d",
    ):
        await session.execute(text(sql), {"a": ids[5], "b": ids[0], "c": ids[3], "d": ids[6]})
    await session.commit()
    api = await console.get("/v1/handoffs", params={"status": "all"}, headers=org.headers)
    order = [item["lead_id"] for item in api.json()["data"]]
    assert sorted(order) == sorted(ids) and order[0] == ids[5] and order[-1] == ids[0]

    monkeypatch.setattr(intake, "PAGE_SIZE", 3)
    await sign_in(console, org.admin_key)
    # As the filter form sends "all teams" and "anyone".
    page = await console.get("/console/queue?team=&member=&status=all")
    assert page.status_code == 200
    pages = [LEAD.findall(page.text)]
    assert link(page, "prev") is None and link(page, "first") is None
    while (following := link(page, "next")) is not None:
        page = await console.get(following)
        assert page.status_code == 200, (following, page.text[-2500:])
        pages.append(LEAD.findall(page.text))
    assert [len(p) for p in pages] == [3, 3, 2]
    assert [lead for p in pages for lead in p] == order

    # Back from the last page: the same pages in reverse, and the head again at the start.
    back = [pages[-1]]
    while (preceding := link(page, "prev")) is not None:
        page = await console.get(preceding)
        back.append(LEAD.findall(page.text))
        assert link(page, "next") is not None
    assert back[::-1] == pages
    assert link(page, "first") is None

    # Back from a page that starts one lead past the head: the head page, full.
    first = await session.get(Lead, uuid.UUID(order[0]))
    assert first is not None
    after_first = Cursor.of(first).encode()
    shifted = await console.get("/console/queue", params={"status": "all", "after": after_first})
    assert LEAD.findall(shifted.text) == order[1:4]
    head = await console.get(link(shifted, "prev") or "")
    assert LEAD.findall(head.text) == order[:3]


async def test_a_cursor_that_is_not_ours_is_a_clear_error(
    console: httpx.AsyncClient, org: Org
) -> None:
    await sign_in(console, org.admin_key)
    naive = [False, None, 50, "2026-01-01T10:00:00", str(uuid.uuid4())]
    cursors = ["nonsense", "W10", "bnVsbA", base64.urlsafe_b64encode(json.dumps(naive).encode())]
    for cursor in cursors:
        page = await console.get("/console/queue", params={"after": cursor})
        assert page.status_code == 422 and "Invalid queue cursor" in page.text


@pytest.mark.parametrize("status", ["open", "claimed", "all"])
@pytest.mark.parametrize("place", [None, "after", "before"])
async def test_a_queue_page_is_one_index_range_whatever_its_depth(
    session: AsyncSession, org: Org, status: QueueStatus, place: str | None
) -> None:
    """The plan's shape, not its speed: each view's index (migration 0027) serves its filter
    and its order, a cursor is a bound of the range, and nothing is sorted."""
    cursor = Cursor(False, None, 50, dt.datetime.now(dt.UTC), uuid.uuid4())
    where = {place: cursor} if place else {}
    stmt = queue.queue_statement(
        org.id, team_id=None, member_id=None, status=status, limit=51, **where
    )
    compiled = stmt.compile()
    # A few rows are sorted faster than read in order: ask for the plan a large table gets
    # (a sort stays in the plan, only costlier, when no index gives the order).
    for setting in ("enable_seqscan", "enable_bitmapscan", "enable_sort"):
        await session.execute(text(f"SET LOCAL {setting} = off"))
    plan = [r[0] for r in await session.execute(text(f"EXPLAIN {compiled}"), compiled.params)]
    scans = [line for line in plan if "Scan" in line]
    assert len(scans) == 1 and f"using ix_leads_queue_{status} " in scans[0], plan
    assert ("Backward" in scans[0]) == (place == "before"), plan
    assert not any("Sort" in line for line in plan), plan
    conds = next(line for line in plan if "Index Cond" in line)
    assert ("ROW(" in conds) == (place is not None), plan
