"""Speed-to-lead, drop-off and score-calibration SQL (the reports a weekly review reads)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.reports.period import PERIOD_FILTER, Dimension, Period, group_sql
from app.reports.queries import DELAYS, fetch

# GROUPING(hour, weekday, team, member): a bit is set for each column the row is NOT grouped
# by, so each grouping set has one fixed value.
SPEED_SETS = {7: "hour", 11: "weekday", 13: "team", 14: "member", 15: "total"}

SPEED_SQL = f"""
    SELECT GROUPING(hour, weekday, team, member) AS grouping, hour, weekday,
           team::text AS team, member::text AS member,
           count(*) AS leads,
           count(first_attempt_at) AS attempted,
           percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY attempt_s) AS attempt_pct,
           count(*) FILTER (WHERE attempt_s <= 300) AS within_5m,
           count(*) FILTER (WHERE attempt_s > 300 AND attempt_s <= 900) AS within_15m,
           count(*) FILTER (WHERE attempt_s > 900 AND attempt_s <= 3600) AS within_1h,
           count(*) FILTER (WHERE attempt_s > 3600 AND attempt_s <= 14400) AS within_4h,
           count(*) FILTER (WHERE attempt_s > 14400 AND attempt_s <= 86400) AS within_24h,
           count(*) FILTER (WHERE attempt_s > 86400) AS over_24h,
           count(*) FILTER (
               WHERE sla_due_at IS NOT NULL
                 AND (first_attempt_at IS NOT NULL OR sla_due_at < :as_of)
           ) AS sla_due,
           count(*) FILTER (WHERE first_attempt_at <= sla_due_at) AS in_sla,
           count(sla_breached_at) AS sla_breaches,
           count(*) FILTER (WHERE escalation_count > 0) AS escalated_leads,
           coalesce(sum(escalation_count), 0)::bigint AS escalations
    FROM (
        SELECT date_part('hour', m.received_at AT TIME ZONE :tz)::int AS hour,
               date_part('isodow', m.received_at AT TIME ZONE :tz)::int AS weekday,
               m.team_id AS team, m.member_id AS member,
               m.first_attempt_at, m.sla_due_at, m.sla_breached_at, m.escalation_count,
               {DELAYS}
        FROM lead_metrics m WHERE {PERIOD_FILTER}
    ) s
    GROUP BY GROUPING SETS ((hour), (weekday), (team), (member), ())
    ORDER BY grouping, hour, weekday, leads DESC, team, member
"""  # noqa: S608 - constant fragments only; values are bound


async def speed(session: AsyncSession, period: Period) -> list[dict[str, Any]]:
    return await fetch(session, SPEED_SQL, period.params())


# Each lead sits at the furthest step it reached; a lead is stalled unless it completed its
# first visit or still has an appointment ahead of `as_of`.
STAGE = """
    CASE
        WHEN m.booked_at IS NOT NULL THEN
            CASE
                WHEN m.completed_at IS NOT NULL THEN 'completed'
                WHEN m.last_appointment_start >= :as_of THEN 'upcoming'
                ELSE 'booked_not_shown'
            END
        WHEN m.first_connected_at IS NOT NULL THEN 'reached_not_booked'
        WHEN m.first_attempt_at IS NOT NULL THEN 'attempted_not_reached'
        ELSE 'never_attempted'
    END
"""

DAY = 86400
STALLED = ("never_attempted", "attempted_not_reached", "reached_not_booked", "booked_not_shown")
STAGE_ORDER = ", ".join(f"'{s}'" for s in (*STALLED, "upcoming", "completed"))


def dropoff_sql(group_by: Dimension | None) -> str:
    with_buckets, key, printed = group_sql(group_by)
    sets, is_total = (
        ("GROUPING SETS ((k, stage), (stage))", "GROUPING(k) = 1")
        if group_by
        else ("stage", "true")
    )
    return f"""{with_buckets}
        SELECT {printed} AS key, {is_total} AS is_total, stage,
               count(*) AS leads,
               percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY age_s) AS age_pct,
               max(age_s) AS oldest_s,
               count(*) FILTER (WHERE age_s < {DAY}) AS under_1d,
               count(*) FILTER (WHERE age_s >= {DAY} AND age_s < 7 * {DAY}) AS from_1d_to_7d,
               count(*) FILTER (WHERE age_s >= 7 * {DAY} AND age_s < 30 * {DAY})
                   AS from_7d_to_30d,
               count(*) FILTER (WHERE age_s >= 30 * {DAY}) AS over_30d,
               count(*) FILTER (WHERE no_slot) AS no_slot_offered
        FROM (
            SELECT {key} AS k, {STAGE} AS stage,
                   m.availability IS NOT DISTINCT FROM 'no_availability' AS no_slot,
                   date_part('epoch', CAST(:as_of AS timestamptz))
                       - date_part('epoch', m.received_at) AS age_s
            FROM lead_metrics m WHERE {PERIOD_FILTER}
        ) s
        GROUP BY {sets}
        ORDER BY {"is_total DESC, k NULLS LAST, " if group_by else ""}
                 array_position(ARRAY[{STAGE_ORDER}], stage)
    """  # noqa: S608 - constant fragments only; values are bound


async def dropoff(
    session: AsyncSession, period: Period, group_by: Dimension | None
) -> list[dict[str, Any]]:
    return await fetch(session, dropoff_sql(group_by), period.params())


OUTCOMES = """
    count(*) AS leads, count(m.booked_at) AS booked, count(m.completed_at) AS completed
"""

BAND_SQL = f"""
    SELECT m.score_band AS band, {OUTCOMES},
           round(avg(m.score), 1)::float8 AS mean_score, min(m.score) AS min_score,
           max(m.score) AS max_score
    FROM lead_metrics m WHERE {PERIOD_FILTER}
    GROUP BY m.score_band
    ORDER BY array_position(ARRAY['hot', 'warm', 'cold'], m.score_band::text) NULLS LAST,
             m.score_band
"""  # noqa: S608

# A factor's level for one lead: all its points, some, or none, kept in lead_metrics as
# 'level:factor' (migration 0028) when the lead's assessment is written.
FACTOR_SQL = f"""
    SELECT substr(f, strpos(f, ':') + 1) AS factor, level, leads, booked, completed
    FROM (
        SELECT f, split_part(f, ':', 1) AS level, count(*) AS leads, count(m.booked_at) AS booked,
               count(m.completed_at) AS completed
        FROM lead_metrics m CROSS JOIN LATERAL unnest(m.score_factors) f
        WHERE {PERIOD_FILTER}
        GROUP BY f
    ) s
    ORDER BY factor, array_position(ARRAY['full', 'partial', 'none'], level)
"""  # noqa: S608


async def calibration(
    session: AsyncSession, period: Period, *, factors: bool = True
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Bands and factors; `factors=False` skips the factors, which unnest every lead's
    factors (a few times the bands' time on a large organisation)."""
    params = period.params()
    bands = await fetch(session, BAND_SQL, params)
    return bands, await fetch(session, FACTOR_SQL, params) if factors else []
