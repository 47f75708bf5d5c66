"""Names for report groups: what a person reads beside each group's key.

A report groups by ids (sources, locations, teams, members), codes (services), labels
(urgency, score band, campaigns, the sources JSON API leads name) and local days or hours.
Each group keeps its key (stable, what an integration joins on) and gets a name: the
entity's current name, the label as people write it, or the day, week, month, weekday or
hour spelled out. A group without a value (NULL key) is named for what is missing.
"""

from __future__ import annotations

import calendar
import datetime as dt
import uuid
from collections.abc import Callable

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.reports.period import Dimension

Namer = Callable[[str | None], str]

TOTAL = "Total"

# One small query per entity kind an answer needs: the organisation's rows, id to name.
_ENTITY_SQL = {
    "source": "SELECT id::text, name FROM sources WHERE organization_id = :org",
    "location": "SELECT id::text, name FROM locations WHERE organization_id = :org",
    "team": "SELECT id::text, name FROM teams WHERE organization_id = :org",
    "member": "SELECT id::text, display_name FROM members WHERE organization_id = :org",
    "service": "SELECT code, name FROM services WHERE organization_id = :org",
}

MISSING = {
    "source": "No source",
    "campaign": "No campaign",
    "service": "No service matched",
    "location": "No location",
    "team": "Not routed",
    "member": "No member assigned",
    "urgency": "Urgency not assessed",
    "score_band": "Not scored",
    "day": "No day",
    "week": "No week",
    "month": "No month",
    "hour": "No hour",
    "weekday": "No weekday",
}

# Labels with a conventional spelling; others are shown as stored.
LABELS = {
    "urgency": {
        "emergency": "Emergency", "urgent": "Urgent", "soon": "Soon", "routine": "Routine",
    },
    "score_band": {"hot": "Hot", "warm": "Warm", "cold": "Cold"},
}  # fmt: skip


def hour_name(hour: int) -> str:
    """Local hour 7 -> "07:00–08:00" (the hour of receipt it stands for)."""  # noqa: RUF002
    return f"{hour:02d}:00–{(hour + 1) % 24:02d}:00"  # noqa: RUF001 - as people write a range


def weekday_name(isodow: int) -> str:
    """ISO weekday 5 -> "Friday"."""
    return calendar.day_name[isodow - 1]


def _date(key: str) -> dt.date:
    return dt.date.fromisoformat(key)


def day_name(key: str) -> str:
    """2026-01-05 -> "Mon Jan 5, 2026"."""
    d = _date(key)
    return f"{d:%a} {d:%b} {d.day}, {d.year}"


def week_name(key: str) -> str:
    """The Monday a week starts on -> "Week of Jan 5, 2026"."""
    d = _date(key)
    return f"Week of {d:%b} {d.day}, {d.year}"


def month_name(key: str) -> str:
    """2026-01-01 -> "January 2026"."""
    d = _date(key)
    return f"{d:%B} {d.year}"


_SPELLED: dict[str, Callable[[str], str]] = {
    "day": day_name,
    "week": week_name,
    "month": month_name,
    "hour": lambda key: hour_name(int(key)),
    "weekday": lambda key: weekday_name(int(key)),
}


async def entity_names(session: AsyncSession, org_id: uuid.UUID, kind: str) -> dict[str, str]:
    """Id (or service code) to current name, for one entity kind of the organisation."""
    rows = await session.execute(text(_ENTITY_SQL[kind]), {"org": org_id})
    return {str(key): str(name) for key, name in rows.all()}


async def namer(session: AsyncSession, org_id: uuid.UUID, dimension: Dimension | str) -> Namer:
    """A function naming the groups of one dimension (also "hour" and "weekday")."""
    dim = str(dimension)
    missing = MISSING.get(dim, "None")
    known: dict[str, str] = {}
    if dim in _ENTITY_SQL:
        known = await entity_names(session, org_id, dim)
    known.update(LABELS.get(dim, {}))
    spell = _SPELLED.get(dim)

    def name(key: str | None) -> str:
        if key is None:
            return missing
        if key in known:
            return known[key]
        if spell is not None:
            return spell(key)
        # A source label (JSON API leads), a campaign, or an entity deleted since.
        return key

    return name
