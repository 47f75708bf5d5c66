"""Funnel and cost SQL. Everything is aggregated in PostgreSQL; Python only shapes the rows.

Each statement is assembled from constant fragments; the caller picks a dimension by name
from `DIMENSION_SQL`, and every value travels as a bound parameter.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.reports.period import PERIOD_FILTER, TIME_DIMENSIONS, Dimension, Period, group_sql

# Delays in seconds from receipt (kept in lead_metrics), NULL when the step has not happened:
# aggregates ignore NULLs, so the percentiles and shares are over leads that reached the step.
DELAYS = "m.attempt_s, m.connect_s"

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
    """The group rows (ordered) and the period total, in one scan."""
    with_buckets, key, printed = group_sql(group_by)
    # Without a dimension only the total is computed (GROUPING() needs a grouped column).
    sets, is_total = ("GROUPING SETS ((k), ())", "GROUPING(k) = 1") if group_by else ("()", "true")
    order = "k" if group_by in TIME_DIMENSIONS else "leads DESC, k"
    order_by = f"ORDER BY is_total, {order} NULLS LAST" if group_by else ""
    sql = f"""{with_buckets}
        SELECT {printed} AS key, {is_total} AS is_total, {FUNNEL_COLUMNS}
        FROM (
            SELECT {key} AS k, {FUNNEL_INPUT}, {DELAYS}
            FROM lead_metrics m WHERE {PERIOD_FILTER}
        ) s
        GROUP BY {sets}
        {order_by}
    """  # noqa: S608 - constant fragments only; values are bound
    rows = await fetch(session, sql, period.params())
    return [r for r in rows if not r["is_total"]], next(r for r in rows if r["is_total"])


COST_SQL = f"""
    WITH l AS (
        SELECT coalesce(m.source, '') AS source, coalesce(m.campaign, '') AS campaign,
               count(*) AS leads, count(*) FILTER (WHERE m.qualified) AS qualified,
               count(m.booked_at) AS booked, count(m.completed_at) AS completed
        FROM lead_metrics m WHERE {PERIOD_FILTER}
        GROUP BY 1, 2
    ), s AS (
        SELECT source, campaign, sum(amount) AS spend
        FROM spend
        WHERE organization_id = :org AND date >= :from_date AND date <= :to_date
        GROUP BY 1, 2
    ), j AS (
        SELECT coalesce(l.source, s.source) AS source, coalesce(l.campaign, s.campaign) AS campaign,
               coalesce(s.spend, 0) AS spend, coalesce(l.leads, 0) AS leads,
               coalesce(l.qualified, 0) AS qualified, coalesce(l.booked, 0) AS booked,
               coalesce(l.completed, 0) AS completed, s.spend IS NOT NULL AS has_spend
        FROM l FULL JOIN s ON l.source = s.source AND l.campaign = s.campaign
    )
    SELECT nullif(source, '') AS source, nullif(campaign, '') AS campaign,
           GROUPING(source, campaign) AS level,
           coalesce(sum(spend), 0) AS spend, coalesce(sum(leads), 0) AS leads,
           coalesce(sum(qualified), 0) AS qualified, coalesce(sum(booked), 0) AS booked,
           coalesce(sum(completed), 0) AS completed,
           coalesce(bool_or(has_spend), false) AS has_spend
    FROM j
    GROUP BY GROUPING SETS ((source, campaign), (source), ())
    ORDER BY level, sum(spend) DESC, sum(leads) DESC, source, campaign
"""  # noqa: S608


async def cost(session: AsyncSession, period: Period) -> list[dict[str, Any]]:
    """Rows at three levels: `level` 0 = source and campaign, 1 = source, 3 = total."""
    return await fetch(session, COST_SQL, period.params())


async def currency(session: AsyncSession, period: Period) -> str | None:
    sql = "SELECT min(currency) FROM spend WHERE organization_id = :org"
    return (await session.execute(text(sql), {"org": period.org_id})).scalar_one_or_none()


async def fetch(session: AsyncSession, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    # Sorting for the percentiles of a year of leads needs more than the default 4 MB to stay
    # in memory; LOCAL ends with this request's transaction.
    await session.execute(text("SET LOCAL work_mem = '64MB'"))
    result = await session.execute(text(sql), params)
    return [dict(r) for r in result.mappings()]


__all__: Sequence[str] = ("cost", "currency", "fetch", "funnel")
