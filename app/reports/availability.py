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
from sqlalchemy.ext.asyncio import AsyncSession

from app.reports import queries
from app.reports.period import Period
from app.reports.schemas import PeriodOut


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
    rows = await queries.availability(session, period)
    out = []
    for r in rows:
        offered, booked = int(r["offered"]), int(r["offered_booked"])
        out.append(
            AvailabilityRow(
                week=r["week"], service=r["service"],
                location_id=None if r["location_id"] is None else str(r["location_id"]),
                leads=int(r["leads"]), offered=offered, offered_booked=booked,
                offered_booked_rate=round(booked / offered, 4) if offered else None,
                no_availability=int(r["no_availability"]),
                no_availability_booked=int(r["no_availability_booked"]),
                median_days_to_first_slot=_days(r["median_days"]),
                p90_days_to_first_slot=_days(r["p90_days"]),
                mean_days_to_first_slot=_days(r["mean_days"]),
            )
        )  # fmt: skip
    return AvailabilityReport(period=PeriodOut.model_validate(period.describe()), rows=out)
