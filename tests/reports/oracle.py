"""The funnel computed straight from `lead_metrics` with `percentile_cont`: the definition the
rollup-based report (app/reports/funnel_sql.py) must reproduce exactly. Tests only."""

from __future__ import annotations

import json
import uuid
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


ROLLUP_ROWS = """
    SELECT dim, day, key, leads, resubmissions, qualified, emergencies, attempted, contacted,
           booked, completed, no_shows, cancellations, attempt_5m, attempt_in_sla, connect_5m,
           connect_in_sla, appointment_set, appointment_set_completed, sla_attempted,
           sla_unattempted, sla_connected, sla_unconnected,
           ARRAY(SELECT ARRAY[i, attempt_hist[i]] FROM generate_subscripts(attempt_hist, 1) i
                 WHERE attempt_hist[i] <> 0) AS attempt_hist,
           ARRAY(SELECT ARRAY[i, connect_hist[i]] FROM generate_subscripts(connect_hist, 1) i
                 WHERE connect_hist[i] <> 0) AS connect_hist
    FROM lead_rollup WHERE organization_id = :org
    ORDER BY dim, day, key NULLS FIRST
"""


async def rollup_rows(session: AsyncSession, org_id: uuid.UUID) -> list[tuple[Any, ...]]:
    await session.execute(text("SET CONSTRAINTS lead_rollup_metrics IMMEDIATE"))
    rows = (await session.execute(text(ROLLUP_ROWS), {"org": org_id})).all()
    # A grouping whose leads all moved away stays as a row of zeros.
    for row in rows:
        if row.leads == 0:
            assert not any(row[3:23]) and not row.attempt_hist and not row.connect_hist, row
    return [tuple(r) for r in rows if r.leads]


METRICS_ROWS = """
    SELECT to_jsonb(m) - 'attempt_bucket' - 'connect_bucket' AS row FROM lead_metrics m
    WHERE organization_id = :org ORDER BY lead_id
"""
# lead_metrics as migration 0008's backfill computes it from leads and appointments.
METRICS_FROM_SCRATCH = """
    SELECT jsonb_build_object(
        'lead_id', l.id, 'organization_id', l.organization_id, 'received_at', l.received_at,
        'is_test', l.is_test,
        'source', coalesce(l.source_id::text, lower(nullif(l.attribution->>'source', '')),
                           lower(nullif(l.attribution->>'utm_source', ''))),
        'campaign', left(coalesce(nullif(l.attribution->>'campaign', ''),
                                  nullif(l.attribution->>'utm_campaign', '')), 200),
        'service_code', l.service_code, 'location_id', l.location_id, 'team_id', l.team_id,
        'member_id', l.member_id, 'urgency', l.urgency, 'emergency', l.emergency,
        'qualified', l.qualified, 'score', l.score, 'score_band', l.score_band,
        'resubmission_count', l.resubmission_count, 'first_attempt_at', l.first_attempt_at,
        'first_connected_at', l.first_connected_at, 'sla_due_at', l.sla_due_at,
        'sla_breached_at', l.sla_breached_at, 'escalation_count', l.escalation_count,
        'attempt_s', date_part('epoch', l.first_attempt_at - l.received_at),
        'connect_s', date_part('epoch', l.first_connected_at - l.received_at),
        'booked_at', a.booked_at, 'first_appointment_start', a.first_start,
        'last_appointment_start', a.last_start, 'completed_at', a.completed_at,
        'noshow_count', coalesce(a.noshows, 0), 'cancelled_count', coalesce(a.cancels, 0),
        'availability', l.availability, 'first_slot_at', l.first_slot_at,
        'score_factors', lead_score_factors(l.assessment)
    ) AS row
    FROM leads l LEFT JOIN LATERAL (
        SELECT min(created_at) FILTER (WHERE status <> 'entered-in-error') AS booked_at,
               min(start) FILTER (WHERE status NOT IN ('entered-in-error', 'cancelled'))
                   AS first_start,
               max(start) FILTER (WHERE status NOT IN ('entered-in-error', 'cancelled'))
                   AS last_start,
               min(coalesce(start, updated_at)) FILTER (WHERE status = 'fulfilled')
                   AS completed_at,
               count(*) FILTER (WHERE status = 'noshow') AS noshows,
               count(*) FILTER (WHERE status = 'cancelled') AS cancels
        FROM appointments WHERE lead_id = l.id
    ) a ON true
    WHERE l.organization_id = :org ORDER BY l.id
"""
LOADS_ROWS = """
    SELECT 'load', member_id::text, NULL::timestamptz, open_leads FROM member_loads
    WHERE organization_id = :org AND open_leads <> 0
    UNION ALL
    SELECT 'slot', member_id::text, slot, routed FROM member_routed_slots
    WHERE organization_id = :org AND routed <> 0
      -- Slots near the two-day edge leave the rebuild as time passes: compare the rest.
      AND slot > now() - interval '47 hours'
    ORDER BY 1, 2, 3
"""


async def assert_derived_rows_consistent(session: AsyncSession, org_id: uuid.UUID) -> None:
    """lead_metrics, lead_rollup and the member-load counters equal what each computes from
    scratch (the backfills' definitions), whichever path the triggers took."""
    params = {"org": org_id}
    metrics = (await session.execute(text(METRICS_ROWS), params)).scalars().all()
    scratch = (await session.execute(text(METRICS_FROM_SCRATCH), params)).scalars().all()
    normalise = [json.loads(json.dumps(r)) for r in scratch]
    assert metrics == normalise
    kept = await rollup_rows(session, org_id)
    await session.execute(text("SELECT lead_rollup_rebuild(:org)"), params)
    assert kept == await rollup_rows(session, org_id)
    loads = (await session.execute(text(LOADS_ROWS), params)).all()
    await session.execute(text("SELECT member_loads_rebuild()"))
    assert loads == (await session.execute(text(LOADS_ROWS), params)).all()


# The score factors read from each lead's assessment: the definition
# app/reports/diagnostics.py must reproduce from lead_metrics.score_factors.
FACTORS = f"""
    SELECT factor, level, count(*) AS leads, count(booked_at) AS booked,
           count(completed_at) AS completed
    FROM (
        SELECT f->>'factor' AS factor, m.booked_at, m.completed_at,
               CASE WHEN (f->>'points')::numeric >= (f->>'max_points')::numeric THEN 'full'
                    WHEN (f->>'points')::numeric > 0 THEN 'partial'
                    ELSE 'none' END AS level
        FROM lead_metrics m
        JOIN leads l ON l.id = m.lead_id AND l.organization_id = :org
        CROSS JOIN LATERAL jsonb_array_elements(
            CASE WHEN jsonb_typeof(l.assessment->'score_breakdown') = 'array'
                 THEN l.assessment->'score_breakdown' ELSE '[]'::jsonb END
        ) f
        WHERE {PERIOD_FILTER}
          AND jsonb_typeof(f->'points') = 'number' AND jsonb_typeof(f->'max_points') = 'number'
    ) s
    GROUP BY factor, level
    ORDER BY factor, array_position(ARRAY['full', 'partial', 'none'], level)
"""  # noqa: S608


async def factors(session: AsyncSession, period: Period) -> list[dict[str, Any]]:
    result = await session.execute(text(FACTORS), period.params())
    return [dict(r) for r in result.mappings()]


# The cost report's counts of leads per source and campaign, counted from lead_metrics.
COST = f"""
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
    result = await session.execute(text(COST), period.params())
    return [dict(r) for r in result.mappings()]
