"""Funnel and cost SQL. Everything is aggregated in PostgreSQL; Python only shapes the rows.

Each statement is assembled from constant fragments; the caller picks a dimension by name,
and every value travels as a bound parameter. The funnel's SQL is in `funnel_sql`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.reports.funnel_sql import funnel_sql, rollup_dim
from app.reports.period import BUCKETS_CTE, PERIOD_FILTER, Dimension, Period

# Delays in seconds from receipt (kept in lead_metrics), NULL when the step has not happened:
# aggregates ignore NULLs, so the percentiles and shares are over leads that reached the step.
DELAYS = "m.attempt_s, m.connect_s"


async def funnel(
    session: AsyncSession, period: Period, group_by: Dimension | None
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The group rows (ordered) and the period total, from the rollup (see funnel_sql)."""
    params = {**period.params(), "dim": rollup_dim(group_by)}
    rows = await fetch(session, funnel_sql(group_by), params)
    groups = [r for r in rows if not r["is_total"]] if group_by else []
    return groups, next(r for r in rows if r["is_total"])


COST_SQL = """
    WITH l AS (
        -- The rollup's (source, campaign) grouping (migration 0031), keyed [source, campaign].
        -- Rows whose leads all moved away stay as zeros: a group needs a lead to exist.
        SELECT coalesce(x.k ->> 0, '') AS source, coalesce(x.k ->> 1, '') AS campaign,
               sum(r.leads)::bigint AS leads, sum(r.qualified)::bigint AS qualified,
               sum(r.booked)::bigint AS booked, sum(r.completed)::bigint AS completed
        FROM lead_rollup r CROSS JOIN LATERAL (SELECT r.key::jsonb AS k) x
        WHERE r.organization_id = :org AND r.dim = 'source_campaign'
          AND r.day >= :from_date AND r.day <= :to_date
        GROUP BY 1, 2
        HAVING sum(r.leads) > 0
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
"""


async def cost(session: AsyncSession, period: Period) -> list[dict[str, Any]]:
    """Rows at three levels: `level` 0 = source and campaign, 1 = source, 3 = total."""
    return await fetch(session, COST_SQL, period.params())


async def currency(session: AsyncSession, period: Period) -> str | None:
    sql = "SELECT min(currency) FROM spend WHERE organization_id = :org"
    return (await session.execute(text(sql), {"org": period.org_id})).scalar_one_or_none()


async def fetch(session: AsyncSession, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    # Sorting for the percentiles of a year of leads needs more than the default 4 MB to stay
    # in memory; set_config(..., true) ends with this transaction. JIT compiling a report's many
    # expressions cost more (~150 ms) than it saved in every report measured. A statement the
    # driver prepared runs on a generic plan from its sixth execution on a connection: blind to
    # the period's length and to the buckets the funnel's pass looks for, it read every lead of
    # the period and took 2.5 times as long; a report's planning costs a few milliseconds.
    await session.execute(
        text(
            "SELECT set_config('work_mem', '64MB', true), set_config('jit', 'off', true),"
            " set_config('plan_cache_mode', 'force_custom_plan', true)"
        )
    )
    # The rollup trigger is deferred to commit; changes this transaction made are applied now.
    await session.execute(text("SET CONSTRAINTS lead_rollup_metrics IMMEDIATE"))
    result = await session.execute(text(sql), params)
    return [dict(r) for r in result.mappings()]


__all__: Sequence[str] = ("availability", "cost", "currency", "fetch", "funnel")


# Availability (app.reports.availability): per local week of receipt, service and location.
AVAILABILITY_SQL = BUCKETS_CTE.format(unit="week") + (  # noqa: S608 - constant fragments; values bound
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


async def availability(session: AsyncSession, period: Period) -> list[dict[str, Any]]:
    return await fetch(session, AVAILABILITY_SQL, period.params())
