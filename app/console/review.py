"""The weekly review: the funnel, cost, trend, speed to lead, drop-off and score calibration.

Every figure comes from the reports service, the same functions `/v1/reports/*` answer
with, for the same period and grouping; CSV links answer the API's CSV byte for byte.
The slower diagnostics (speed, drop-off, calibration) are sections of their own: the page
loads them after the funnel (htmx), and each is a page of its own without JavaScript.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import Organization
from app.auth.scopes import Scope
from app.console import charts, names, words
from app.console import periods as pickers
from app.console.auth import Person, SignedIn
from app.console.pages import render
from app.db import SessionDep
from app.errors import NotFound
from app.reports import csv as report_csv
from app.reports import negotiate
from app.reports import period as periods
from app.reports import service as reports
from app.reports.period import Dimension, Period
from app.reports.schemas import FunnelReport, SpeedReport

router = APIRouter(prefix="/console", include_in_schema=False)

From = Annotated[dt.date | None, Query(alias="from")]
To = Annotated[dt.date | None, Query(alias="to")]
GroupBy = Annotated[Dimension | None, Query()]

SECTIONS = {
    "trend": "Weekly trend",
    "speed": "Speed to lead",
    "drop-off": "Drop-off",
    "calibration": "Score calibration",
    "factors": "Score calibration by factor",
}
# Loaded into the review page after it arrives; the factors load when opened.
LAZY = ["trend", "speed", "drop-off", "calibration"]
CSV_REPORTS: dict[str, tuple[str, Callable[[Any], list[dict[str, Any]]], list[str] | None]] = {
    "funnel": ("funnel", report_csv.funnel_rows, None),
    "cost": ("cost", report_csv.cost_rows, None),
    "speed-to-lead": ("speed-to-lead", report_csv.speed_rows, None),
    "drop-off": ("drop-off", report_csv.dropoff_rows, None),
    "score-calibration": (
        "score-calibration", report_csv.calibration_rows, report_csv.CALIBRATION_COLUMNS,
    ),
}  # fmt: skip


class Choice:
    """The period and grouping a review page shows, and the links that keep them."""

    def __init__(self, period: Period, group_by: Dimension, preset: str, today: dt.date) -> None:
        self.period = period
        self.group_by = group_by
        self.preset = preset
        self.presets = pickers.presets(today)
        self.groupings = pickers.GROUPINGS

    def query(self, **changes: Any) -> str:
        values = {
            "from": self.period.first_day.isoformat(),
            "to": self.period.last_day.isoformat(),
            "group_by": self.group_by.value,
        }
        values.update({k.rstrip("_"): v for k, v in changes.items()})
        return urlencode(values)


async def _choice(
    session: AsyncSession, person: SignedIn, first: dt.date | None, last: dt.date | None,
    group_by: Dimension | None,
) -> Choice:  # fmt: skip
    person.require(Scope.REPORTS_READ)
    zone = (
        await session.execute(
            select(Organization.time_zone).where(Organization.id == person.caller.org_id)
        )
    ).scalar_one()
    today = pickers.local_today(zone)
    first, last, preset = pickers.choose(today, first, last)
    period = await periods.resolve(session, person.caller.org_id, first, last, None)
    return Choice(period, group_by or pickers.DEFAULT_GROUPING, preset, today)


def trend_chart(trend: FunnelReport) -> charts.Chart:
    labels = [str(r.key) for r in trend.rows]
    return charts.bars(
        "Leads, booked and completed per week",
        [f"w/c {k[5:]}" if len(k) == 10 else k for k in labels],
        [
            ("leads", [r.leads for r in trend.rows]),
            ("booked", [r.booked for r in trend.rows]),
            ("completed", [r.completed for r in trend.rows]),
        ],
        every=max(1, len(labels) // 13 + 1),
    )


@router.get("")
async def review(
    request: Request,
    person: Person,
    session: SessionDep,
    first: From = None,
    last: To = None,
    group_by: GroupBy = None,
) -> Response:
    choice = await _choice(session, person, first, last, group_by)
    period = choice.period
    funnel = await reports.funnel(session, period, choice.group_by)
    cost = await reports.cost(session, period)
    lookup = await names.groups(session, person.caller.org_id)
    by_source = {r.source: r for r in cost.rows if r.level == "source"}
    total_cost = next((r for r in cost.rows if r.level == "total"), None)
    unspent = [r for r in cost.rows if r.level == "source" and r.leads and r.cost_per_lead is None]
    return render(
        request,
        "review.html",
        {
            "choice": choice,
            "funnel": funnel,
            "cost": cost,
            "cost_by_source": by_source if choice.group_by == Dimension.SOURCE else None,
            "total_cost": total_cost,
            "unspent": unspent,
            "no_spend": total_cost is None or total_cost.spend == 0,
            "names": lookup.get(choice.group_by.value, {}),
            "source_names": lookup.get("source", {}),
            "sections": {k: SECTIONS[k] for k in LAZY},
        },
        person=person,
    )


def speed_charts(speed: SpeedReport) -> list[charts.Chart]:
    buckets = ("within_5m", "within_15m", "within_1h", "within_4h", "within_24h", "over_24h")
    t = speed.total
    return [
        charts.bars(
            "First attempts by delay",
            [
                "≤ 5 min",
                "5\u201315 min",
                "15\u201360 min",
                "1\u20134 h",
                "4\u201324 h",
                "> 24 h",
                "never",
            ],
            [("leads", [*(getattr(t, b) for b in buckets), t.never_attempted])],
        ),
        charts.bars(
            "Median minutes to the first attempt, by local hour of receipt",
            [f"{int(r.key or 0):02d}" for r in speed.by_hour],
            [("minutes", [(r.median_seconds or 0) / 60 for r in speed.by_hour])],
            every=2,
        ),
        charts.bars(
            "Median minutes to the first attempt, by weekday of receipt",
            [words.weekday(r.key)[:3] for r in speed.by_weekday],
            [("minutes", [(r.median_seconds or 0) / 60 for r in speed.by_weekday])],
        ),
    ]


async def _section(
    name: str, session: AsyncSession, choice: Choice, org_names: dict[str, dict[str, str]]
) -> dict[str, Any]:
    period = choice.period
    if name == "trend":
        trend = await reports.funnel(session, period, Dimension.WEEK)
        return {"trend": trend, "trend_chart": trend_chart(trend)}
    if name == "speed":
        speed = await reports.speed(session, period)
        return {"speed": speed, "speed_charts": speed_charts(speed), "team_names":
                org_names.get("team", {}), "member_names": org_names.get("member", {})}  # fmt: skip
    if name == "drop-off":
        return {
            "dropoff": await reports.dropoff(session, period, choice.group_by),
            "stages": words.STAGES,
            "advice": words.ADVICE,
        }
    # The bands are cheap; the factors unnest every lead's factors, so they wait to be asked.
    factors = name == "factors"
    return {"calibration": await reports.calibration(session, period, factors=factors)}


@router.get("/review/{section}")
async def review_section(
    section: str,
    request: Request,
    person: Person,
    session: SessionDep,
    first: From = None,
    last: To = None,
    group_by: GroupBy = None,
) -> Response:
    if section not in SECTIONS:
        raise NotFound("No such part of the review.")
    choice = await _choice(session, person, first, last, group_by)
    lookup = await names.groups(session, person.caller.org_id)
    context = {
        "choice": choice,
        "section": section,
        "sections": SECTIONS,
        "names": lookup.get(choice.group_by.value, {}),
        **await _section(section, session, choice, lookup),
    }
    # htmx asks for the section alone, to place it into the review page.
    template = "_section.html" if request.headers.get("hx-request") else "section.html"
    return render(request, template, context, person=person)


@router.get("/csv/{report}.csv")
async def review_csv(
    report: str,
    person: Person,
    session: SessionDep,
    first: From = None,
    last: To = None,
    group_by: GroupBy = None,
) -> Response:
    """The API's CSV of one report, for the review's period and grouping."""
    if report not in CSV_REPORTS:
        raise NotFound("No such report.")
    choice = await _choice(session, person, first, last, group_by)
    period, dimension = choice.period, choice.group_by
    data: BaseModel
    if report == "funnel":
        data = await reports.funnel(session, period, dimension)
    elif report == "cost":
        data = await reports.cost(session, period)
    elif report == "speed-to-lead":
        data = await reports.speed(session, period)
    elif report == "drop-off":
        data = await reports.dropoff(session, period, dimension)
    else:
        data = await reports.calibration(session, period)
    name, rows, columns = CSV_REPORTS[report]
    return negotiate.csv_file(
        rows(data), columns, f"{name}_{period.first_day}_{period.last_day}.csv"
    )
