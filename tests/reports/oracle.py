"""The funnel computed straight from `lead_metrics` with `percentile_cont`: the definition the
rollup-based report (app/reports/funnel_sql.py) must reproduce exactly. Tests only."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.reports.period import PERIOD_FILTER, TIME_DIMENSIONS, Dimension, Period, group_sql

FUNNEL_COLUMNS = """
    count(*) AS leads,
    coalesce(sum(resubmission_count), 0)::bigint AS resubmissions,
    count(*) FILTER (WHERE qualified) AS qualified,
    count(*) FILTER (WHERE emergency) AS emergencies,
    count(first_attempt_at) AS attempted,
    count(first_connected_at) AS contacted,
    count(booked_at) AS booked,
    count(completed_at) AS completed,
    count(*) FILTER (WHERE noshow_count > 0) AS no_shows,
    count(*) FILTER (WHERE cancelled_count > 0) AS cancellations,
    count(*) FILTER (WHERE first_appointment_start < :as_of) AS visits_due,
    count(*) FILTER (
        WHERE first_appointment_start < :as_of AND completed_at IS NOT NULL
    ) AS visits_shown,
    percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY attempt_s) AS attempt_pct,
    count(*) FILTER (WHERE attempt_s <= 300) AS attempt_5m,
    count(*) FILTER (
        WHERE sla_due_at IS NOT NULL AND (first_attempt_at IS NOT NULL OR sla_due_at < :as_of)
    ) AS attempt_sla_due,
    count(*) FILTER (WHERE first_attempt_at <= sla_due_at) AS attempt_in_sla,
    percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY connect_s) AS connect_pct,
    count(*) FILTER (WHERE connect_s <= 300) AS connect_5m,
    count(*) FILTER (
        WHERE sla_due_at IS NOT NULL AND (first_connected_at IS NOT NULL OR sla_due_at < :as_of)
    ) AS connect_sla_due,
    count(*) FILTER (WHERE first_connected_at <= sla_due_at) AS connect_in_sla
"""

FUNNEL_INPUT = """
    m.resubmission_count, m.qualified, m.emergency, m.first_attempt_at, m.first_connected_at,
    m.booked_at, m.completed_at, m.noshow_count, m.cancelled_count,
    m.first_appointment_start, m.sla_due_at
"""


async def funnel(
    session: AsyncSession, period: Period, group_by: Dimension | None
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    with_buckets, key, printed = group_sql(group_by)
    sets, is_total = ("GROUPING SETS ((k), ())", "GROUPING(k) = 1") if group_by else ("()", "true")
    order = "k" if group_by in TIME_DIMENSIONS else "leads DESC, k"
    order_by = f"ORDER BY is_total, {order} NULLS LAST" if group_by else ""
    sql = f"""{with_buckets}
        SELECT {printed} AS key, {is_total} AS is_total, {FUNNEL_COLUMNS}
        FROM (
            SELECT {key} AS k, {FUNNEL_INPUT}, m.attempt_s, m.connect_s
            FROM lead_metrics m WHERE {PERIOD_FILTER}
        ) s
        GROUP BY {sets}
        {order_by}
    """  # noqa: S608
    result = await session.execute(text(sql), period.params())
    rows = [dict(r) for r in result.mappings()]
    return [r for r in rows if not r["is_total"]], next(r for r in rows if r["is_total"])
