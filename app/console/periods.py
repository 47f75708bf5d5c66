"""The review's period and grouping pickers: presets in the organisation's local calendar."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from app.reports.period import Dimension

GROUPINGS: list[tuple[Dimension, str]] = [
    (Dimension.SOURCE, "Source"),
    (Dimension.CAMPAIGN, "Campaign"),
    (Dimension.SERVICE, "Service"),
    (Dimension.LOCATION, "Location"),
    (Dimension.TEAM, "Team"),
    (Dimension.WEEK, "Week"),
]
DEFAULT_GROUPING = Dimension.SOURCE
DEFAULT_PRESET = "last28"


@dataclass(frozen=True)
class Preset:
    key: str
    label: str
    first: dt.date
    last: dt.date


def local_today(time_zone: str, now: dt.datetime | None = None) -> dt.date:
    return (now or dt.datetime.now(dt.UTC)).astimezone(ZoneInfo(time_zone)).date()


def presets(today: dt.date) -> list[Preset]:
    monday = today - dt.timedelta(days=today.weekday())
    return [
        Preset("last7", "Last 7 days", today - dt.timedelta(days=6), today),
        Preset("last28", "Last 28 days", today - dt.timedelta(days=27), today),
        Preset("last90", "Last 90 days", today - dt.timedelta(days=89), today),
        Preset("this_week", "This week", monday, today),
        Preset(
            "last_week", "Last week", monday - dt.timedelta(days=7), monday - dt.timedelta(days=1)
        ),
    ]


def choose(
    today: dt.date, first: dt.date | None, last: dt.date | None
) -> tuple[dt.date, dt.date, str]:
    """(first day, last day, the preset's key or `custom`); the default is the last 28 days."""
    options = presets(today)
    if first is None and last is None:
        default = next(p for p in options if p.key == DEFAULT_PRESET)
        return default.first, default.last, default.key
    first = first or (last or today) - dt.timedelta(days=27)
    last = last or today
    match = next((p.key for p in options if (p.first, p.last) == (first, last)), "custom")
    return first, last, match
