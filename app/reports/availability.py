"""Availability reports: days to the first free slot, and leads offered a slot vs booked.

Per local week of receipt (Monday first, in the organisation's zone), service and location:
the leads whose service had schedules, how many were offered a slot, how many of those
booked, how many had none within the horizon (`no_availability`), and the days from receipt
to the earliest fitting free slot ("days to first available", docs/definitions.md), as
median, 90th percentile and mean. One statement over `lead_metrics`.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.direct import Direct, fetch
from app.reports.period import BUCKETS_CTE, PERIOD_FILTER, Period
from app.reports.schemas import PeriodOut

SQL = BUCKETS_CTE.format(unit="week") + (  # noqa: S608 - constant fragments; values bound
    f"""
    SELECT to_char((SELECT starts FROM buckets)[k] AT TIME ZONE :tz, 'YYYY-MM-DD') AS week,
           service_code AS service, location_id, count(*) AS leads,
           count(*) FILTER (WHERE availability = 'offered') AS offered,
           count(*) FILTER (WHERE availability = 'offered' AND booked_at IS NOT NULL)
               AS offered_booked,
           count(*) FILTER (WHERE availability = 'no_availability') AS no_availability,
           count(*) FILTER (WHERE availability = 'no_availability' AND booked_at IS NOT NULL)
               AS no_availability_booked,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY days) AS median_days,
           percentile_cont(0.9) WITHIN GROUP (ORDER BY days) AS p90_days,
           avg(days) AS mean_days
    FROM (
        SELECT width_bucket(m.received_at, (SELECT starts FROM buckets)) AS k,
               m.service_code, m.location_id, m.availability, m.booked_at,
               date_part('epoch', m.first_slot_at - m.received_at) / 86400.0 AS days
        FROM lead_metrics m
        WHERE {PERIOD_FILTER} AND m.availability IS NOT NULL
    ) l
    GROUP BY k, service_code, location_id
    ORDER BY k, service_code, location_id NULLS LAST
"""  # noqa: S608
)


_STMT = Direct(text(SQL))


class AvailabilityRow(BaseModel):
    week: str = Field(description="The local Monday starting the week of receipt.")
    service: str | None
    location_id: str | None = Field(description="The location the lead was sent to.")
    leads: int = Field(description="Leads whose service had schedules.")
    offered: int = Field(description="Offered a free slot within the horizon.")
    offered_booked: int = Field(description="Of those, booked (any appointment).")
    offered_booked_rate: float | None
    no_availability: int = Field(description="No free slot at an eligible location.")
    no_availability_booked: int
    median_days_to_first_slot: float | None = Field(
        description="From receipt to the start of the earliest fitting free slot."
    )
    p90_days_to_first_slot: float | None
    mean_days_to_first_slot: float | None


class AvailabilityReport(BaseModel):
    period: PeriodOut
    rows: list[AvailabilityRow]


def _days(value: Any) -> float | None:
    return None if value is None else round(float(value), 2)


async def report(session: AsyncSession, period: Period) -> AvailabilityReport:
    rows = await fetch(session, _STMT, period.params())
    out = []
    for r in rows:
        offered, booked = int(r[4]), int(r[5])
        out.append(
            AvailabilityRow(
                week=r[0], service=r[1], location_id=None if r[2] is None else str(r[2]),
                leads=int(r[3]), offered=offered, offered_booked=booked,
                offered_booked_rate=round(booked / offered, 4) if offered else None,
                no_availability=int(r[6]), no_availability_booked=int(r[7]),
                median_days_to_first_slot=_days(r[8]), p90_days_to_first_slot=_days(r[9]),
                mean_days_to_first_slot=_days(r[10]),
            )
        )  # fmt: skip
    return AvailabilityReport(period=PeriodOut.model_validate(period.describe()), rows=out)
