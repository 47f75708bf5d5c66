"""Report content negotiation: the pure choice, and what a client meets over HTTP."""

from __future__ import annotations

import httpx
import pytest

from app.errors import NotAcceptable
from app.reports.negotiate import CSV, JSON, choose
from tests.reports import dataset
from tests.reports.conftest import January


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, JSON),
        ("", JSON),
        ("*/*", JSON),
        ("application/json", JSON),
        ("text/csv", CSV),
        ("TEXT/CSV; charset=utf-8", CSV),
        ("text/*", CSV),
        ("application/json;q=0.5, text/csv", CSV),
        ("text/csv;q=0.4, application/json;q=0.9", JSON),
        ("text/csv, application/json", JSON),  # a tie goes to JSON
        ("text/html, */*;q=0.1", JSON),
        ("*/*;q=0.1, text/csv;q=0", JSON),  # csv refused explicitly
        ("application/*;q=0, text/csv;q=0.2", CSV),
        ("text/csvx, application/json", JSON),  # no prefix matching
    ],
)
def test_choice(accept: str | None, expected: str) -> None:
    assert choose(accept) == expected


@pytest.mark.parametrize(
    "accept",
    ["text/html", "application/xml, image/png", "text/csv;q=0", "text/csv;q=abc", "*/*;q=0"],
)
def test_neither_acceptable(accept: str) -> None:
    with pytest.raises(NotAcceptable):
        choose(accept)


async def test_http_negotiation(client: httpx.AsyncClient, january: January) -> None:
    url, params = "/v1/reports/funnel", dataset.PERIOD
    headers = january.org.headers
    weighted = {**headers, "Accept": "text/csv;q=0.3, application/json;q=0.8"}
    r = await client.get(url, params=params, headers=weighted)
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    assert r.json()["total"]["leads"] == 30
    # A refusal of CSV is not a request for it (a substring test would have served CSV).
    refused = {**headers, "Accept": "text/csv;q=0, application/json"}
    r = await client.get(url, params=params, headers=refused)
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    r = await client.get(url, params=params, headers={**headers, "Accept": "application/csv"})
    assert r.status_code == 406
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["available"] == ["application/json", "text/csv"]
    r = await client.get(url, params=params, headers={**headers, "Accept": "text/*"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
