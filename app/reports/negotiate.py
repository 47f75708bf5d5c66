"""A report's answer as JSON or CSV, as the `Accept` header asks.

RFC 9110 §12.5.1: media ranges with q-values; the most specific range matching a type gives
its weight; q=0 refuses it. No header (or `*/*`) means JSON.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from app.errors import NotAcceptable
from app.reports import csv as report_csv

M = TypeVar("M", bound=BaseModel)

JSON = "application/json"
CSV = "text/csv"
OFFERED = (JSON, CSV)  # in order of preference on a tie


def _ranges(accept: str) -> list[tuple[str, float]]:
    out = []
    for part in accept.split(","):
        media, *params = (p.strip() for p in part.split(";"))
        if not media:
            continue
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = min(max(float(value), 0.0), 1.0)
                except ValueError:
                    q = 0.0  # a malformed weight is not consent to that type
        out.append((media.lower(), q))
    return out


def _weight(offer: str, ranges: list[tuple[str, float]]) -> float:
    kind = offer.split("/")[0]
    best: tuple[int, float] = (-1, 0.0)  # (specificity, q)
    for media, q in ranges:
        if media == offer:
            specificity = 2
        elif media == f"{kind}/*":
            specificity = 1
        elif media == "*/*":
            specificity = 0
        else:
            continue
        if specificity > best[0]:
            best = (specificity, q)
    return best[1]


def choose(accept: str | None) -> str:
    """`application/json` or `text/csv`; 406 when the client accepts neither."""
    if not accept or not accept.strip():
        return JSON
    ranges = _ranges(accept)
    weights = {offer: _weight(offer, ranges) for offer in OFFERED}
    best = max(OFFERED, key=lambda o: (weights[o], -OFFERED.index(o)))
    if weights[best] <= 0:
        raise NotAcceptable(
            f"Reports are available as `{JSON}` or `{CSV}`.",
            extra={"available": list(OFFERED)},
        )
    return best


# The OpenAPI `responses` of every route answered by `answer`.
CSV_DOC: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {CSV: {"schema": {"type": "string"}}},
        "description": f"JSON, or CSV with `Accept: {CSV}`.",
    },
    406: {"description": "The `Accept` header allows neither JSON nor CSV."},
}


def answer(
    request: Request,
    report: M,
    rows: Callable[[M], list[dict[str, Any]]],
    name: str,
    columns: list[str] | None = None,
    *,
    next_cursor: str | None = None,
) -> Response:
    """`report` as JSON, or its `rows` as `name.csv` (the next page's cursor in `Link`)."""
    headers = {"Vary": "Accept"}
    if choose(request.headers.get("accept")) == CSV:
        if next_cursor:
            headers["Link"] = f'<?cursor={next_cursor}>; rel="next"'
        return csv_file(rows(report), columns, f"{name}.csv", headers)
    return JSONResponse(report.model_dump(mode="json", by_alias=True), headers=headers)


def csv_file(
    rows: list[dict[str, Any]],
    columns: list[str] | None,
    filename: str,
    headers: dict[str, str] | None = None,
) -> Response:
    """The rows as a CSV attachment named `filename`."""
    disposition = {"Content-Disposition": f'attachment; filename="{filename}"'}
    body = report_csv.render(rows, columns)
    return Response(
        body, media_type="text/csv; charset=utf-8", headers={**(headers or {}), **disposition}
    )
