"""`/v1/reports/*` (scope `reports:read`) and `/v1/spend` (import: scope `admin`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from app.audit import service as audit
from app.db import SessionDep
from app.deps import AdminCaller, ReportsReader
from app.errors import UnsupportedMediaType
from app.fields import Day, Instant
from app.idempotency import idempotent
from app.reports import availability as availability_report
from app.reports import csv as report_csv
from app.reports import negotiate
from app.reports import period as periods
from app.reports import service as reports
from app.reports import spend as spend_service
from app.reports.period import Dimension
from app.reports.schemas import (
    CalibrationReport,
    CostReport,
    DropoffReport,
    FunnelReport,
    SpeedReport,
)

router = APIRouter(tags=["reports"])

From = Annotated[
    Day,
    Query(
        alias="from",
        description="First day of the period (YYYY-MM-DD), inclusive, in the organisation's "
        "time zone: it starts at local midnight.",
    ),
]
To = Annotated[
    Day,
    Query(description="Last day of the period, inclusive (up to local midnight after it)."),
]
AsOf = Annotated[
    Instant | None,
    Query(
        description="Judge 'visit time passed', SLA outcomes and ages at this instant "
        "(ISO 8601 with offset); default now. Set it to reproduce an earlier report."
    ),
]
GroupBy = Annotated[
    Dimension | None,
    Query(description="Group rows by this dimension; omitted: the total only."),
]


@router.get("/v1/reports/funnel", response_model=FunnelReport, responses=negotiate.CSV_DOC)
async def funnel(
    request: Request,
    caller: ReportsReader,
    session: SessionDep,
    from_: From,
    to: To,
    group_by: GroupBy = None,
    as_of: AsOf = None,
) -> Response:
    """The funnel of leads received in the period, from lead to completed first visit, with
    rates and speed to lead, optionally grouped. Test leads are excluded, emergencies counted.

    Counts follow each lead of the period to its outcome, whenever that happened (a cohort).
    Send `Accept: text/csv` for CSV: one row per group (`row=group`) then `row=total`,
    columns named after the JSON fields (`first_attempt.median_seconds`).
    """
    period = await periods.resolve(session, caller.org_id, from_, to, as_of)
    report = await reports.funnel(session, period, group_by)
    return negotiate.answer(request, report, report_csv.funnel_rows, "funnel")


@router.get("/v1/reports/cost", response_model=CostReport, responses=negotiate.CSV_DOC)
async def cost(
    request: Request,
    caller: ReportsReader,
    session: SessionDep,
    from_: From,
    to: To,
    as_of: AsOf = None,
) -> Response:
    """Spend (imported with `POST /v1/spend`) for days in the period, against the leads of the
    period from the same source and campaign: cost per lead, qualified lead, booked
    appointment and completed first visit, by source and campaign, with subtotals."""
    period = await periods.resolve(session, caller.org_id, from_, to, as_of)
    report = await reports.cost(session, period)
    return negotiate.answer(request, report, report_csv.cost_rows, "cost")


@router.get("/v1/reports/speed-to-lead", response_model=SpeedReport, responses=negotiate.CSV_DOC)
async def speed_to_lead(
    request: Request,
    caller: ReportsReader,
    session: SessionDep,
    from_: From,
    to: To,
    as_of: AsOf = None,
) -> Response:
    """First-attempt delay distribution by local hour and weekday of receipt, by team and by
    member, with SLA results, breaches and escalations. CSV: one row per (dimension, key)."""
    period = await periods.resolve(session, caller.org_id, from_, to, as_of)
    report = await reports.speed(session, period)
    return negotiate.answer(request, report, report_csv.speed_rows, "speed-to-lead")


@router.get("/v1/reports/drop-off", response_model=DropoffReport, responses=negotiate.CSV_DOC)
async def drop_off(
    request: Request,
    caller: ReportsReader,
    session: SessionDep,
    from_: From,
    to: To,
    group_by: GroupBy = None,
    as_of: AsOf = None,
) -> Response:
    """Where the period's leads stalled: never attempted, attempted but not reached, reached
    but not booked, booked but not shown, with counts and ages (`as_of - received_at`), and
    the stage to fix first. CSV: one row per (group, stage)."""
    period = await periods.resolve(session, caller.org_id, from_, to, as_of)
    report = await reports.dropoff(session, period, group_by)
    return negotiate.answer(request, report, report_csv.dropoff_rows, "drop-off")


@router.get(
    "/v1/reports/score-calibration", response_model=CalibrationReport, responses=negotiate.CSV_DOC
)
async def score_calibration(
    request: Request,
    caller: ReportsReader,
    session: SessionDep,
    from_: From,
    to: To,
    as_of: AsOf = None,
) -> Response:
    """Booked and completed rates by score band and by score factor level, to check that the
    score predicts outcomes. CSV: `kind` is `band` or `factor`."""
    period = await periods.resolve(session, caller.org_id, from_, to, as_of)
    report = await reports.calibration(session, period)
    return negotiate.answer(
        request,
        report,
        report_csv.calibration_rows,
        "score-calibration",
        report_csv.CALIBRATION_COLUMNS,
    )


@router.post(
    "/v1/spend",
    response_model=spend_service.SpendImportResult,
    tags=["spend"],
)
@idempotent
async def import_spend(
    request: Request, caller: AdminCaller, session: SessionDep
) -> spend_service.SpendImportResult:
    """Import ad spend as a JSON list of `{date, source, campaign, amount, currency}` (or
    `{"data": [...]}`, the shape `GET /v1/spend` answers) or as CSV with the header
    `date,source,campaign,amount,currency`.

    Re-importing replaces: for every (date, source) present in the body, all stored rows of
    that day and source are deleted and the body's rows stored, so a corrected export for a day
    can be sent again; other days and sources are untouched. Rows with the same date, source
    and campaign are summed (ad-level exports). Any invalid row rejects the whole import with
    422 and the row numbers: `row` counts data rows from 1, the CSV header not counted (row 1
    is a CSV's second line, a JSON list's first item), and is null for an error of the whole
    body or of the header. One currency per organisation.
    """
    ctype = request.headers.get("content-type", "")
    raw = await request.body()
    if ctype.startswith("text/csv"):
        items = spend_service.parse_csv(raw)
    elif "json" in ctype:
        items = spend_service.parse_json(raw)
    else:
        raise UnsupportedMediaType("Send `application/json` or `text/csv`.")
    result = await spend_service.replace(session, caller.org_id, spend_service.validate(items))
    facts = {**result.model_dump(exclude={"unmatched"}), "unmatched": len(result.unmatched)}
    await audit.record(session, caller, "spend.import", "spend", None, facts)
    return result


@router.get("/v1/spend", response_model=spend_service.SpendList, tags=["spend"])
async def list_spend(
    caller: ReportsReader, session: SessionDep, from_: From, to: To
) -> spend_service.SpendList:
    """Stored spend rows for days in the period."""
    return await spend_service.list_rows(session, caller.org_id, from_, to)


@router.get("/v1/reports/availability", response_model=availability_report.AvailabilityReport)
async def availability(
    caller: ReportsReader, session: SessionDep, from_: From, to: To, as_of: AsOf = None
) -> availability_report.AvailabilityReport:
    """Per week of receipt, service and location: days from a lead's receipt to the earliest
    free slot fitting it (median, p90, mean), leads offered a slot and how many booked, and
    leads with none within the horizon (`no_availability`). Only leads whose service has
    schedules count; test leads are excluded."""
    period = await periods.resolve(session, caller.org_id, from_, to, as_of)
    return await availability_report.report(session, period)
