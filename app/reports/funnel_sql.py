"""The funnel from `lead_rollup` (migration 0010): per-day counts and delay histograms.

Counts are sums of the period's rollup rows. Two corrections and the percentiles need leads:
- "visit time passed" and "SLA due" depend on `as_of`: the rollup splits them so the report
  subtracts the leads whose first appointment or SLA is still at or after `as_of` (few);
- the median and 90th percentile of each group's delays are exact: the histograms give each
  wanted rank's bucket and its index inside it, and one pass over the period's leads reads only
  the values in those buckets; `percentile_cont`'s interpolation is then applied to them.

So a report reads a few hundred rollup rows and the few percent of the period's leads the
corrections and ranks need, found by index (migration 0032: by organisation and bucket, then
receipt; by each `as_of` time) rather than by testing every lead of the period.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.reports.period import (
    BUCKET_UNITS,
    BUCKETS_CTE,
    PERIOD_FILTER,
    TIME_DIMENSIONS,
    Dimension,
)

# A NULL group key is chr(1) here and the total's key chr(2) (time buckets: -1 and 0), so
# every join and partition compares non-NULL values. No real key is either control character.
NULL_KEY, TOTAL_KEY = "chr(1)", "chr(2)"

# The lead_metrics expression a dimension groups by, as text like the rollup's `key`.
RAW_KEYS: dict[Dimension, str] = {
    Dimension.SOURCE: "m.source",
    Dimension.CAMPAIGN: "m.campaign",
    Dimension.SERVICE: "m.service_code",
    Dimension.LOCATION: "m.location_id::text",
    Dimension.TEAM: "m.team_id::text",
    Dimension.MEMBER: "m.member_id::text",
    Dimension.URGENCY: "m.urgency",
    Dimension.SCORE_BAND: "m.score_band",
    Dimension.AVAILABILITY: "m.availability",
}
PLAIN_COUNTS = (
    "leads", "resubmissions", "qualified", "emergencies", "attempted", "contacted", "booked",
    "completed", "no_shows", "cancellations", "attempt_5m", "attempt_in_sla", "connect_5m",
    "connect_in_sla", "appointment_set", "appointment_set_completed", "sla_attempted",
    "sla_unattempted", "sla_connected", "sla_unconnected",
)  # fmt: skip


def rollup_dim(dimension: Dimension | None) -> str:
    """The rollup grouping a dimension reads: time buckets and the total read the days."""
    return "day" if dimension is None or dimension in TIME_DIMENSIONS else dimension.value


@dataclass(frozen=True)
class Keys:
    ctes: str  # what opens the WITH list
    rollup: str  # the group of a rollup row `r`
    raw: str  # the group of a lead `m`, the same value as `rollup` for the same day
    printed: str  # how the report prints a group `{k}`
    null: str  # stands for a NULL group (NULLs would not join)
    total: str  # the total's group


def _keys(dimension: Dimension | None) -> Keys:
    if dimension is None:
        return Keys("WITH ", "NULL::text", "NULL::text", "{k}", NULL_KEY, TOTAL_KEY)
    unit = BUCKET_UNITS.get(dimension)
    if unit is None:
        return Keys("WITH ", "r.key", RAW_KEYS[dimension], "{k}", NULL_KEY, TOTAL_KEY)
    # Time buckets are numbered (width_bucket over their first instants): a lead's number is
    # a binary search, a rollup day's that of its local midnight. 0 is no bucket's number.
    starts = "(SELECT starts FROM buckets)"
    return Keys(
        BUCKETS_CTE.format(unit=unit) + ", ",
        f"width_bucket(r.day::timestamp AT TIME ZONE :tz, {starts})",
        f"width_bucket(m.received_at, {starts})",
        f"to_char({starts}[{{k}}] AT TIME ZONE :tz, 'YYYY-MM-DD')",
        "-1",
        "0",
    )


def funnel_sql(dimension: Dimension | None) -> str:
    keys = _keys(dimension)
    null_key, total_key = keys.null, keys.total
    printed = keys.printed.format(k="c.k")
    sums = ", ".join(f"coalesce(sum(r.{c}), 0)::bigint AS {c}" for c in PLAIN_COUNTS)
    if dimension in TIME_DIMENSIONS:
        order = "c.k"
    else:
        order = f'c.leads DESC, c.k = {NULL_KEY}, c.k COLLATE "C"'
    return f"""{keys.ctes}
    r AS (
        SELECT coalesce({keys.rollup}, {null_key}) AS k, r.*
        FROM lead_rollup r
        WHERE r.organization_id = :org AND r.dim = :dim
          AND r.day >= :from_date AND r.day <= :to_date
    ),
    c AS (
        SELECT coalesce(k, {total_key}) AS k, GROUPING(k) = 1 AS is_total, {sums}
        FROM r GROUP BY GROUPING SETS ((k), ())
    ),
    hist AS (
        -- Histogram arrays start at bucket 0 and only grow upwards, so bucket = ordinality - 1
        SELECT coalesce(k, {total_key}) AS k, v.metric, v.bucket, sum(v.n)::bigint AS n
        FROM (
            SELECT r.k, u.i - 1 AS bucket, sum(u.a) AS a, sum(u.c) AS c
            FROM r, unnest(r.attempt_hist, r.connect_hist) WITH ORDINALITY u(a, c, i)
            GROUP BY r.k, u.i
        ) h
        CROSS JOIN LATERAL (VALUES ('a', h.bucket, h.a), ('c', h.bucket, h.c)) v(metric, bucket, n)
        WHERE v.n <> 0
        GROUP BY GROUPING SETS ((k, v.metric, v.bucket), (v.metric, v.bucket))
    ),
    cum AS (
        SELECT k, metric, bucket, n,
               (sum(n) OVER (PARTITION BY k, metric ORDER BY bucket))::bigint - n AS before,
               (sum(n) OVER (PARTITION BY k, metric))::bigint AS total
        FROM hist
    ),
    wanted AS (
        -- percentile_cont: position frac * (n - 1) between the 0-based ranks lo and hi
        SELECT DISTINCT c.k, c.metric, c.total, f.ord, f.frac,
               floor(f.frac * (c.total - 1))::bigint AS lo,
               ceil(f.frac * (c.total - 1))::bigint AS hi
        FROM cum c CROSS JOIN (VALUES (1, 0.5::float8), (2, 0.9::float8)) f(ord, frac)
    ),
    ranks AS (
        SELECT w.k, w.metric, w.ord, w.frac, w.total, w.lo, w.hi, x.pos, c.bucket,
               x.pos - c.before AS idx
        FROM wanted w CROSS JOIN LATERAL (VALUES (w.lo), (w.hi)) x(pos)
        JOIN cum c ON c.k = w.k AND c.metric = w.metric
                  AND x.pos >= c.before AND x.pos < c.before + c.n
    ),
    raw AS MATERIALIZED (
        SELECT coalesce({keys.raw}, {null_key}) AS k, m.attempt_s, m.connect_s,
               m.first_appointment_start, m.completed_at, m.sla_due_at, m.first_attempt_at,
               m.first_connected_at, m.attempt_bucket AS ab, m.connect_bucket AS cb
        FROM lead_metrics m
        WHERE {PERIOD_FILTER} AND (
            m.first_appointment_start >= :as_of OR m.sla_due_at >= :as_of
            OR m.attempt_bucket = ANY (ARRAY(SELECT DISTINCT bucket FROM ranks WHERE metric = 'a'))
            OR m.connect_bucket = ANY (ARRAY(SELECT DISTINCT bucket FROM ranks WHERE metric = 'c'))
        )
    ),
    corr AS (
        SELECT coalesce(k, {total_key}) AS k,
               count(*) FILTER (WHERE first_appointment_start >= :as_of) AS appt_ahead,
               count(*) FILTER (
                   WHERE first_appointment_start >= :as_of AND completed_at IS NOT NULL
               ) AS appt_ahead_completed,
               count(*) FILTER (
                   WHERE sla_due_at >= :as_of AND first_attempt_at IS NULL
               ) AS sla_ahead_unattempted,
               count(*) FILTER (
                   WHERE sla_due_at >= :as_of AND first_connected_at IS NULL
               ) AS sla_ahead_unconnected
        FROM raw GROUP BY GROUPING SETS ((k), ())
    ),
    targets AS (SELECT DISTINCT k, metric, bucket FROM ranks),
    vals AS (
        SELECT v.k, v.metric, v.bucket, v.value,
               row_number() OVER (PARTITION BY v.k, v.metric, v.bucket ORDER BY v.value) - 1
                   AS idx
        FROM (
            SELECT k, 'a' AS metric, ab AS bucket, attempt_s AS value FROM raw
            WHERE (k, ab) IN (SELECT k, bucket FROM targets WHERE metric = 'a')
            UNION ALL
            SELECT k, 'c', cb, connect_s FROM raw
            WHERE (k, cb) IN (SELECT k, bucket FROM targets WHERE metric = 'c')
            UNION ALL
            SELECT {total_key}, 'a', ab, attempt_s FROM raw
            WHERE ab IN (SELECT bucket FROM targets WHERE metric = 'a' AND k = {total_key})
            UNION ALL
            SELECT {total_key}, 'c', cb, connect_s FROM raw
            WHERE cb IN (SELECT bucket FROM targets WHERE metric = 'c' AND k = {total_key})
        ) v
    ),
    pct AS (
        SELECT k, metric, array_agg(value ORDER BY ord) AS pct
        FROM (
            SELECT r.k, r.metric, r.ord,
                   min(v.value) FILTER (WHERE r.pos = r.lo)
                   + ((min(r.frac) * (min(r.total) - 1) - min(r.lo))
                      * (min(v.value) FILTER (WHERE r.pos = r.hi)
                         - min(v.value) FILTER (WHERE r.pos = r.lo))) AS value
            FROM ranks r
            JOIN vals v ON v.k = r.k AND v.metric = r.metric AND v.bucket = r.bucket
                       AND v.idx = r.idx
            GROUP BY r.k, r.metric, r.ord
        ) p
        GROUP BY k, metric
    )
    SELECT CASE WHEN c.is_total OR c.k = {null_key} THEN NULL ELSE {printed} END AS key,
           c.is_total,
           c.leads, c.resubmissions, c.qualified, c.emergencies, c.attempted, c.contacted,
           c.booked, c.completed, c.no_shows, c.cancellations,
           c.appointment_set - coalesce(x.appt_ahead, 0) AS visits_due,
           c.appointment_set_completed - coalesce(x.appt_ahead_completed, 0) AS visits_shown,
           pa.pct AS attempt_pct, c.attempt_5m,
           c.sla_attempted + c.sla_unattempted - coalesce(x.sla_ahead_unattempted, 0)
               AS attempt_sla_due,
           c.attempt_in_sla,
           pc.pct AS connect_pct, c.connect_5m,
           c.sla_connected + c.sla_unconnected - coalesce(x.sla_ahead_unconnected, 0)
               AS connect_sla_due,
           c.connect_in_sla
    FROM c
    LEFT JOIN corr x ON x.k = c.k
    LEFT JOIN pct pa ON pa.k = c.k AND pa.metric = 'a'
    LEFT JOIN pct pc ON pc.k = c.k AND pc.metric = 'c'
    WHERE c.is_total OR c.leads > 0
    ORDER BY c.is_total, {order}
    """  # noqa: S608 - constant fragments only; values are bound
