"""CSV renderings: one flat row per report row, columns named after the JSON paths.

Each row starts with its group's name (what a person reads), then its key (what a program
joins on), then the figures."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel

from app.reports.names import TOTAL
from app.reports.schemas import (
    CalibrationReport,
    CostReport,
    DropoffReport,
    FunnelReport,
    SpeedReport,
)

# A cell starting with one of these is a formula to a spreadsheet: campaign names are
# attacker-controlled (they arrive with the lead), so such cells are quoted as text.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """`{"first_attempt": {"median_seconds": 1}}` -> `{"first_attempt.median_seconds": 1}`."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten(value, f"{name}."))
        else:
            out[name] = value
    return out


def _dump(model: BaseModel) -> dict[str, Any]:
    return flatten(model.model_dump(mode="json", by_alias=True))


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def render(rows: Iterable[Mapping[str, Any]], columns: list[str] | None = None) -> str:
    rows = list(rows)
    fieldnames = columns or (list(rows[0]) if rows else [])
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fieldnames, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows({k: _cell(v) for k, v in r.items()} for r in rows)
    return buffer.getvalue()


def funnel_rows(report: FunnelReport) -> list[dict[str, Any]]:
    grouped = [{"name": r.name, "key": r.key, "row": "group", **_dump(r)} for r in report.rows]
    total = {"name": TOTAL, "key": None, "row": "total", **_dump(report.total)}
    return [*grouped, total]


def cost_rows(report: CostReport) -> list[dict[str, Any]]:
    return [{**_dump(r), "currency": report.currency} for r in report.rows]


def speed_rows(report: SpeedReport) -> list[dict[str, Any]]:
    parts = (report.by_hour, report.by_weekday, report.by_team, report.by_member)
    return [_dump(r) for part in parts for r in part] + [_dump(report.total)]


def dropoff_rows(report: DropoffReport) -> list[dict[str, Any]]:
    out = []
    for group, is_total in [*((g, False) for g in report.rows), (report.total, True)]:
        for stage in group.stages:
            out.append(
                {
                    "name": group.name,
                    "key": group.key,
                    "row": "total" if is_total else "group",
                    "group_leads": group.leads,
                    **_dump(stage),
                }
            )
    return out


def calibration_rows(report: CalibrationReport) -> list[dict[str, Any]]:
    bands = [{"kind": "band", "key": r.band, "level": None, **_dump(r)} for r in report.by_band]
    factors = [{"kind": "factor", "key": r.factor, **_dump(r)} for r in report.by_factor]
    return [{k: row.get(k) for k in CALIBRATION_COLUMNS} for row in bands + factors]


CALIBRATION_COLUMNS = [
    "name", "kind", "key", "level", "leads", "booked", "completed", "booked_rate", "completed_rate",
]  # fmt: skip
