"""CSV renderings, scopes and parameter errors of /v1/reports."""

from __future__ import annotations

import csv
import io
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import service as auth_service
from app.auth.scopes import Scope
from app.reports.csv import flatten
from tests.conftest import Org
from tests.reports import dataset
from tests.reports.conftest import January, get

CSV = {"Accept": "text/csv"}


async def _csv(client: httpx.AsyncClient, org: Org, report: str, **params: str) -> list[dict]:
    r = await client.get(
        f"/v1/reports/{report}",
        params={**dataset.PERIOD, **params},
        headers={**org.headers, **CSV},
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    assert r.headers["vary"] == "Accept"
    return list(csv.DictReader(io.StringIO(r.text)))


def _cells(row: dict[str, Any]) -> dict[str, str]:
    """A JSON row as the CSV writes it: null is empty, numbers in Python's notation."""
    return {k: "" if v is None else str(v) for k, v in flatten(row).items()}


async def test_funnel_csv_matches_json(client: httpx.AsyncClient, january: January) -> None:
    body = await get(client, january.org, "funnel", group_by="source")
    rows = await _csv(client, january.org, "funnel", group_by="source")
    assert len(rows) == len(body["rows"]) + 1
    # The group's name first, then its key: a spreadsheet reads by name, a program by key.
    assert list(rows[0])[:3] == ["name", "key", "row"]
    for json_row, csv_row in zip(body["rows"], rows, strict=False):
        assert csv_row == {"row": "group", **_cells(json_row)}
    # January's sources are JSON API labels: their names are the labels themselves.
    assert (body["rows"][0]["key"], body["rows"][0]["name"]) == ("google", "google")
    total = rows[-1]
    assert total == {"name": "Total", "row": "total", "key": "", **_cells(body["total"])}
    assert total["leads"] == "30" and total["first_attempt.median_seconds"] == "480.0"


@pytest.mark.parametrize(
    ("report", "params"),
    [("speed-to-lead", {}), ("drop-off", {"group_by": "team"}), ("score-calibration", {})],
)
async def test_other_reports_as_csv(
    client: httpx.AsyncClient, january: January, report: str, params: dict[str, str]
) -> None:
    body = await get(client, january.org, report, **params)
    rows = await _csv(client, january.org, report, **params)
    assert next(iter(rows[0])) == "name"
    if report == "speed-to-lead":
        assert len(rows) == 24 + 7 + len(body["by_team"]) + len(body["by_member"]) + 1
        assert rows[-1] == _cells(body["total"]) and rows[-1]["name"] == "Total"
        assert [r["name"] for r in rows[:2]] == ["00:00–01:00", "01:00–02:00"]  # noqa: RUF001
    elif report == "drop-off":
        assert len(rows) == 4 * (len(body["rows"]) + 1)
        assert rows[-1]["row"] == "total" and rows[-1]["stage"] == "booked_not_shown"
        assert rows[-1]["name"] == "Total" and rows[0]["name"] == rows[0]["key"]
        assert rows[-1]["leads"] == "4" and rows[-1]["group_leads"] == "30"
    else:
        assert [(r["name"], r["kind"], r["key"], r["level"], r["leads"]) for r in rows][:2] == [
            ("Hot", "band", "hot", "", "10"),
            ("Warm", "band", "warm", "", "10"),
        ]
        assert rows[-1] == {
            "name": "Urgency", "kind": "factor", "key": "urgency", "level": "none", "leads": "8",
            "booked": "0", "completed": "0", "booked_rate": "0.0", "completed_rate": "0.0",
        }  # fmt: skip


async def test_csv_cells_cannot_be_formulas(client: httpx.AsyncClient, org: Org) -> None:
    row = {"date": "2026-01-05", "source": "=cmd()", "amount": "1", "currency": "USD"}
    assert (await client.post("/v1/spend", json=[row], headers=org.headers)).status_code == 200
    rows = await _csv(client, org, "cost")
    assert rows[0]["source"] == "'=cmd()"


async def test_scopes(client: httpx.AsyncClient, session: AsyncSession, org: Org) -> None:
    _, reader = await auth_service.create_key(session, org.id, "r", [Scope.REPORTS_READ])
    _, leads = await auth_service.create_key(session, org.id, "l", [Scope.LEADS_READ])
    await session.commit()
    for report in ("funnel", "cost", "speed-to-lead", "drop-off", "score-calibration"):
        url = f"/v1/reports/{report}"
        ok = await client.get(url, params=dataset.PERIOD, headers=_bearer(reader))
        assert ok.status_code == 200, report
        denied = await client.get(url, params=dataset.PERIOD, headers=_bearer(leads))
        assert denied.status_code == 403
        assert (await client.get(url, params=dataset.PERIOD)).status_code == 401


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize(
    "params",
    [
        {"from": "2026-01-01", "to": "2026-01-31", "group_by": "zip_code"},
        {"from": "2026-02-01", "to": "2026-01-31"},
        {"from": "2024-01-01", "to": "2026-01-31"},
        {"from": "2026-01-01", "to": "2026-01-31", "as_of": "2026-02-01T00:00:00"},
        {"from": "2026-01-01"},
        {"from": "January", "to": "2026-01-31"},
    ],
)
async def test_bad_parameters_are_422(
    client: httpx.AsyncClient, org: Org, params: dict[str, str]
) -> None:
    r = await client.get("/v1/reports/funnel", params=params, headers=org.headers)
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
