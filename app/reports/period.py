"""The reporting period: local calendar days in the organisation's time zone, and `as_of`."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import Organization
from app.errors import Unprocessable

MAX_DAYS = 731


class Dimension(StrEnum):
    SOURCE = "source"
    CAMPAIGN = "campaign"
    SERVICE = "service"
    LOCATION = "location"
    TEAM = "team"
    MEMBER = "member"
    URGENCY = "urgency"
    SCORE_BAND = "score_band"
    # offered / not_offered / no_availability (a service with schedules), or null.
    AVAILABILITY = "availability"
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


TIME_DIMENSIONS = frozenset({Dimension.DAY, Dimension.WEEK, Dimension.MONTH})

# The only SQL a caller's choice can select, as (grouping expression, how the group `k` is
# printed once per group). Text columns group in the "C" collation (cheap to compare).
DIMENSION_SQL: dict[Dimension, tuple[str, str]] = {
    Dimension.SOURCE: ('m.source COLLATE "C"', "k"),
    Dimension.CAMPAIGN: ('m.campaign COLLATE "C"', "k"),
    Dimension.SERVICE: ('m.service_code COLLATE "C"', "k"),
    Dimension.LOCATION: ("m.location_id", "k::text"),
    Dimension.TEAM: ("m.team_id", "k::text"),
    Dimension.MEMBER: ("m.member_id", "k::text"),
    Dimension.URGENCY: ('m.urgency COLLATE "C"', "k"),
    Dimension.SCORE_BAND: ('m.score_band COLLATE "C"', "k"),
    Dimension.AVAILABILITY: ('m.availability COLLATE "C"', "k"),
}

# Day, week and month buckets are local calendar periods of the organisation's zone (`:tz`);
# weeks start on Monday (ISO); a bucket's key is its first day. The bucket starts are turned
# into instants once per query and each lead is placed by binary search (width_bucket),
# which costs a fraction of converting every lead's time to local time.
BUCKET_UNITS = {Dimension.DAY: "day", Dimension.WEEK: "week", Dimension.MONTH: "month"}
BUCKETS_CTE = """
    WITH buckets AS (
        SELECT array_agg(s AT TIME ZONE :tz ORDER BY s) AS starts
        FROM generate_series(
            date_trunc('{unit}', CAST(:start AS timestamp)), CAST(:stop AS timestamp),
            interval '1 {unit}'
        ) s
    )
"""


def group_sql(dimension: Dimension | None) -> tuple[str, str, str]:
    """(WITH clause, expression to group by, expression printing the group `k` as text)."""
    if dimension is None:
        return "", "NULL::text", "NULL::text"
    unit = BUCKET_UNITS.get(dimension)
    if unit is not None:
        return (
            BUCKETS_CTE.format(unit=unit),
            "width_bucket(m.received_at, (SELECT starts FROM buckets))",
            "to_char((SELECT starts FROM buckets)[k] AT TIME ZONE :tz, 'YYYY-MM-DD')",
        )
    return "", *DIMENSION_SQL[dimension]


# Leads of the organisation received inside the period, test leads left out. The bounds are
# local midnights turned into instants by PostgreSQL, so DST days are 23 or 25 hours long.
PERIOD_FILTER = """
    m.organization_id = :org AND NOT m.is_test
    AND m.received_at >= (CAST(:start AS timestamp) AT TIME ZONE :tz)
    AND m.received_at < (CAST(:stop AS timestamp) AT TIME ZONE :tz)
"""


@dataclass(frozen=True, slots=True)
class Period:
    org_id: uuid.UUID
    time_zone: str
    first_day: dt.date
    last_day: dt.date
    as_of: dt.datetime

    def params(self) -> dict[str, Any]:
        return {
            "org": self.org_id,
            "tz": self.time_zone,
            "start": dt.datetime.combine(self.first_day, dt.time()),
            "stop": dt.datetime.combine(self.last_day + dt.timedelta(days=1), dt.time()),
            "from_date": self.first_day,
            "to_date": self.last_day,
            "as_of": self.as_of,
        }

    def describe(self) -> dict[str, Any]:
        return {
            "from": self.first_day,
            "to": self.last_day,
            "time_zone": self.time_zone,
            "as_of": self.as_of,
        }


async def resolve(
    session: AsyncSession,
    org_id: uuid.UUID,
    first_day: dt.date,
    last_day: dt.date,
    as_of: dt.datetime | None,
) -> Period:
    if first_day > last_day:
        raise Unprocessable("`from` must be on or before `to`.", type="invalid-period")
    if (last_day - first_day).days >= MAX_DAYS:
        raise Unprocessable(f"A period spans at most {MAX_DAYS} days.", type="invalid-period")
    if as_of is not None and as_of.tzinfo is None:
        raise Unprocessable("`as_of` needs a UTC offset.", type="invalid-period")
    tz = (
        await session.execute(select(Organization.time_zone).where(Organization.id == org_id))
    ).scalar_one()
    return Period(org_id, tz, first_day, last_day, as_of or dt.datetime.now(dt.UTC))
