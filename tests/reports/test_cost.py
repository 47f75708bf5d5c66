"""Spend import (JSON and CSV, replacement, validation) and the cost report, by hand."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.auth import service as auth_service
from app.auth.scopes import Scope
from tests.conftest import Org
from tests.reports.conftest import January, get


@pytest.fixture
async def january(january: January, engine: AsyncEngine) -> AsyncIterator[January]:
    """The shared January data set; the spend a test imports into it goes with the test."""
    yield january
    async with engine.begin() as c:
        await c.execute(text("DELETE FROM spend WHERE organization_id = :o"), {"o": january.org.id})


FIRST = [
    {"date": "2026-01-05", "source": "Google", "campaign": "knee", "amount": "100.00",
     "currency": "usd"},
    {"date": "2026-01-20", "source": "google", "campaign": "knee", "amount": 200,
     "currency": "USD"},
    {"date": "2026-01-10", "source": "google", "campaign": "hip", "amount": "150",
     "currency": "USD"},
    {"date": "2026-01-15", "source": "meta", "campaign": "spring", "amount": "500.00",
     "currency": "USD"},
    {"date": "2026-02-02", "source": "google", "campaign": "knee", "amount": "999.00",
     "currency": "USD"},  # outside January
]  # fmt: skip
# A corrected export for meta on Jan 15 (two ad rows, summed: 90 replaces 500), plus spend
# without a campaign and spend for a source that brought no lead.
SECOND = (
    "date,source,campaign,amount,currency\r\n"
    "2026-01-15,meta,spring,60.00,USD\r\n"
    "2026-01-15,meta,spring,30.00,USD\r\n"
    "2026-01-03,referral,,50.00,USD\r\n"
    "2026-01-07,tiktok,x,40,USD\r\n"
)


async def _import(client: httpx.AsyncClient, org: Org) -> None:
    r = await client.post("/v1/spend", json=FIRST, headers=org.headers)
    assert r.status_code == 200, r.text
    assert r.json() == {"stored": 5, "days": 5, "replaced": 0, "unmatched": []}
    headers = {**org.headers, "Content-Type": "text/csv"}
    r = await client.post("/v1/spend", content=SECOND, headers=headers)
    assert r.status_code == 200, r.text
    # No lead of the organisation ever came from `tiktok`: its spend would cost nothing.
    assert r.json() == {"stored": 3, "days": 3, "replaced": 1, "unmatched": [TIKTOK]}


TIKTOK = {"source": "tiktok", "campaign": "x", "spend": "40.00", "reason": "unknown_source",
          "suggestion": None}  # fmt: skip


def _row(level: str, source: str | None, campaign: str | None, *values: Any) -> dict[str, Any]:
    keys = ("spend", "leads", "qualified", "booked", "completed", "cost_per_lead",
            "cost_per_qualified_lead", "cost_per_booked_appointment",
            "cost_per_completed_visit")  # fmt: skip
    values_by_key = dict(zip(keys, values, strict=True))
    source_name = None if level == "total" else source or "No source"
    name = {"campaign": f"{source_name} · {campaign or 'No campaign'}", "source": source_name}
    return {"name": name.get(level, "Total"), "level": level, "source": source,
            "source_name": source_name, "campaign": campaign, **values_by_key}  # fmt: skip


async def test_cost_per_outcome_by_source_and_campaign(
    client: httpx.AsyncClient, january: January
) -> None:
    await _import(client, january.org)
    body = await get(client, january.org, "cost")
    assert body["currency"] == "USD"
    assert body["rows"] == [
        # knee: leads 1-6 22 26 30; qualified but 5; booked 1 2 3 22 30; completed 1 2 22 30
        # 300 / 9 = 33.333, / 8 = 37.5, / 5 = 60, / 4 = 75
        _row("campaign", "google", "knee", "300.00", 9, 8, 5, 4,
             "33.33", "37.50", "60.00", "75.00"),
        # hip: 7 8 9 10 23 27; qualified but 10; booked 7 8 9 23 27; completed 7
        _row("campaign", "google", "hip", "150.00", 6, 5, 5, 1,
             "25.00", "30.00", "30.00", "150.00"),
        # spring: 90 (re-imported) / 9, / 7 = 12.857, / 4 = 22.5, / 3
        _row("campaign", "meta", "spring", "90.00", 9, 7, 4, 3,
             "10.00", "12.86", "22.50", "30.00"),
        # spend without a campaign meets the referral leads without one (18-21, 29)
        _row("campaign", "referral", None, "50.00", 5, 4, 2, 1,
             "10.00", "12.50", "25.00", "50.00"),
        _row("campaign", "tiktok", "x", "40.00", 0, 0, 0, 0, None, None, None, None),
        # lead 28 has no source and no spend: cost unknown, not zero
        _row("campaign", None, None, "0.00", 1, 0, 0, 0, None, None, None, None),
        # google: 450 / 15 = 30, / 13 = 34.615, / 10 = 45, / 5 = 90
        _row("source", "google", None, "450.00", 15, 13, 10, 5,
             "30.00", "34.62", "45.00", "90.00"),
        _row("source", "meta", None, "90.00", 9, 7, 4, 3, "10.00", "12.86", "22.50", "30.00"),
        _row("source", "referral", None, "50.00", 5, 4, 2, 1,
             "10.00", "12.50", "25.00", "50.00"),
        _row("source", "tiktok", None, "40.00", 0, 0, 0, 0, None, None, None, None),
        _row("source", None, None, "0.00", 1, 0, 0, 0, None, None, None, None),
        # 630 / 30 = 21, / 24 = 26.25, / 16 = 39.375 (half up), / 9 = 70
        _row("total", None, None, "630.00", 30, 24, 16, 9, "21.00", "26.25", "39.38", "70.00"),
    ]  # fmt: skip
    # The report names all of January's spend that meets no January lead.
    assert body["unmatched_spend"] == [TIKTOK] and body["unmatched_total"] == "40.00"


async def test_spend_is_listed_and_replaced_per_day_and_source(
    client: httpx.AsyncClient, january: January
) -> None:
    await _import(client, january.org)
    r = await client.get(
        "/v1/spend", params={"from": "2026-01-01", "to": "2026-01-31"}, headers=january.org.headers
    )
    assert r.status_code == 200
    assert [(s["date"], s["source"], s["campaign"], s["amount"]) for s in r.json()["data"]] == [
        ("2026-01-03", "referral", "", "50.00"),
        ("2026-01-05", "google", "knee", "100.00"),
        ("2026-01-07", "tiktok", "x", "40.00"),
        ("2026-01-10", "google", "hip", "150.00"),
        ("2026-01-15", "meta", "spring", "90.00"),
        ("2026-01-20", "google", "knee", "200.00"),
    ]
    # Re-importing google on Jan 5 with another campaign drops that day's knee row only.
    row = {"date": "2026-01-05", "source": "google", "campaign": "hip", "amount": 1,
           "currency": "USD"}  # fmt: skip
    r = await client.post("/v1/spend", json=[row], headers=january.org.headers)
    assert r.json() == {"stored": 1, "days": 1, "replaced": 1, "unmatched": []}
    # a list answers like every list, and what it answers can be sent back as it is
    listed = await client.get(
        "/v1/spend", params={"from": "2026-01-05", "to": "2026-01-05"}, headers=january.org.headers
    )
    assert set(listed.json()) == {"data", "next_cursor"} and listed.json()["next_cursor"] is None
    r = await client.post("/v1/spend", json=listed.json(), headers=january.org.headers)
    assert r.status_code == 200 and r.json()["stored"] == 1, r.text


async def test_invalid_rows_are_422_with_row_numbers_and_change_nothing(
    client: httpx.AsyncClient, org: Org
) -> None:
    good = {"date": "2026-01-05", "source": "google", "amount": "1.00", "currency": "USD"}
    bad = [good, {**good, "amount": "-5"}, {k: v for k, v in good.items() if k != "currency"}]
    r = await client.post("/v1/spend", json=bad, headers=org.headers)
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    assert [(e["row"], e["field"]) for e in r.json()["errors"]] == [
        (2, "amount"),
        (3, "currency"),
    ]
    csv_headers = {**org.headers, "Content-Type": "text/csv"}
    bad_csv = "date,source,campaign,amount,currency\n2026-01-05,g,,1,USD\n2026-13-01,g,,1,USD\n"
    r = await client.post("/v1/spend", content=bad_csv, headers=csv_headers)
    assert r.status_code == 422
    assert [(e["row"], e["field"]) for e in r.json()["errors"]] == [(2, "date")]
    r = await client.post("/v1/spend", content="day,cost\n1,2\n", headers=csv_headers)
    assert r.status_code == 422 and r.json()["errors"] == [
        {
            "row": None,
            "field": "header",
            "message": "header must be date,source,campaign,amount,currency",
        }
    ]
    for body in ({"data": "x"}, [], "[1, 2]"):
        r = await client.post("/v1/spend", json=body, headers=org.headers)
        assert r.status_code == 422, body
        assert [e["row"] for e in r.json()["errors"]] == [None], body
    # the first row is row 1 whatever is wrong with it, as the message says
    r = await client.post("/v1/spend", json=[1, good, "x"], headers=org.headers)
    assert r.status_code == 422
    assert "row 1 is a CSV's second line" in r.json()["detail"]
    assert [(e["row"], e["field"]) for e in r.json()["errors"]] == [(1, "row"), (3, "row")]
    first_bad = "date,source,campaign,amount,currency\n2026-01-05,g,,x,USD\n"
    r = await client.post("/v1/spend", content=first_bad, headers=csv_headers)
    assert [(e["row"], e["field"]) for e in r.json()["errors"]] == [(1, "amount")]
    r = await client.post(
        "/v1/spend", json=[good, {**good, "currency": "EUR"}], headers=org.headers
    )
    assert [(e["row"], e["field"]) for e in r.json()["errors"]] == [(2, "currency")]
    r = await client.post(
        "/v1/spend", content=b"{", headers=org.headers | {"Content-Type": "application/json"}
    )
    assert r.status_code == 400
    r = await client.post(
        "/v1/spend", content=b"x", headers=org.headers | {"Content-Type": "text/plain"}
    )
    assert r.status_code == 415
    r = await client.post("/v1/spend", json=[good], headers=org.headers)
    assert r.status_code == 200
    # (EUR for the same day and source would replace the USD row, and be accepted)
    euro = {**good, "date": "2026-01-06", "currency": "EUR"}
    r = await client.post("/v1/spend", json=[euro], headers=org.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "currency"
    r = await client.get("/v1/spend", params={"from": "2026-01-01", "to": "2026-12-31"},
                         headers=org.headers)  # fmt: skip
    assert [s["amount"] for s in r.json()["data"]] == ["1.00"]


async def test_spend_import_needs_admin(
    client: httpx.AsyncClient, session: AsyncSession, org: Org
) -> None:
    _, token = await auth_service.create_key(session, org.id, "reports", [Scope.REPORTS_READ])
    await session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    row = {"date": "2026-01-05", "source": "g", "amount": "1", "currency": "USD"}
    r = await client.post("/v1/spend", json=[row], headers=headers)
    assert r.status_code == 403
    r = await client.get("/v1/spend", params={"from": "2026-01-01", "to": "2026-01-31"},
                         headers=headers)  # fmt: skip
    assert r.status_code == 200
