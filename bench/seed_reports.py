"""Seed a year of realistic leads for bench_reports.py with SQL `generate_series`.

The mix (approximate shares of all leads): five sources (four configured, one JSON API label),
three campaigns each, five services, two locations, three teams of four members, 1 %
emergencies, 80 % qualified, 70 % attempted, 45 % contacted, 20 % booked, 14 % completed, 3 %
no-shows, 2 % cancellations, 1 % test leads, 5 % resubmitted. Receipt times follow office
hours in America/Chicago; rows go in in time order, as intake writes them. The leads go in
with the real triggers on, so `lead_metrics` is built the way production builds it; the
rollup is then rebuilt from it in one statement, as any bulk load should.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import asyncpg

ORG = uuid.UUID("00000000-0000-4000-8000-00000000be00")
SOURCES = {
    "meta": uuid.UUID("00000000-0000-4000-8000-0000000050a1"),
    "google": uuid.UUID("00000000-0000-4000-8000-0000000050a2"),
    "tiktok": uuid.UUID("00000000-0000-4000-8000-0000000050a3"),
    "landing": uuid.UUID("00000000-0000-4000-8000-0000000050a4"),
}

RANDOM = """
    SELECT g, random() AS r_src, random() AS r_camp, random() AS r_svc, random() AS r_loc,
           random() AS r_team, random() AS r_urg, random() AS r_q, random() AS r_score,
           random() AS r_att, random() AS r_delay, random() AS r_con, random() AS r_test,
           random() AS r_resub, random() AS r_sla,
           (timestamp '2025-01-01' + make_interval(
                days => floor(random() * 365)::int,
                hours => CASE WHEN random() < 0.9 THEN 7 + floor(random() * 14)::int
                              ELSE floor(random() * 24)::int END,
                mins => floor(random() * 60)::int, secs => floor(random() * 60)::int
           )) AT TIME ZONE 'America/Chicago' AS received_at
    FROM generate_series(1, $2) g
"""

DERIVED = f"""
    SELECT r.*,
        CASE WHEN r_src < 0.35 THEN 0 WHEN r_src < 0.60 THEN 1 WHEN r_src < 0.75 THEN 2
             WHEN r_src < 0.90 THEN 3 ELSE 4 END AS src,
        floor(r_team * 12)::int AS member_no,
        r_q < 0.8 AS qualified,
        r_att < 0.70 AS attempted,
        r_att < 0.70 AND r_con < 0.643 AS connected,
        -- log-skewed first-attempt delay: 20 s to 24 h, median about 3 minutes
        20 * power(4320.0, r_delay * r_delay) AS attempt_s,
        60 * power(60.0, r_con / 0.643) AS connect_extra_s,
        CASE WHEN r_urg < 0.15 THEN 15 ELSE 60 END AS sla_min
    FROM ({RANDOM}) r
"""

INSERT_LEADS = f"""
    INSERT INTO leads (id, organization_id, source_id, received_at, last_submitted_at, status,
        is_test, channel, normalization_flags, attribution, resubmission_count, service_code,
        location_id, urgency, emergency, qualified, score, score_band, assessment, team_id,
        member_id, routing_trace, sla_due_at, do_not_contact, first_attempt_at,
        first_connected_at, sla_breached_at, escalation_count, updated_at)
    SELECT gen_random_uuid(), $1,
        (ARRAY[$3, $4, $5, $6]::uuid[])[src + 1],
        received_at, received_at, 'new', r_test < 0.01, 'api', '{{}}',
        jsonb_build_object(
            'source', (ARRAY['meta', 'google', 'tiktok', 'landing', 'referral'])[src + 1],
            'campaign', (ARRAY['meta', 'google', 'tiktok', 'landing', 'referral'])[src + 1]
                || '-' || (ARRAY['knee', 'hip', 'spine'])[1 + floor(r_camp * 3)::int]),
        CASE WHEN r_resub < 0.05 THEN 1 ELSE 0 END,
        (ARRAY['ortho-knee', 'ortho-hip', 'spine', 'sports', 'hand'])[1 + floor(r_svc * 5)::int],
        CASE WHEN r_loc < 0.6 THEN '00000000-0000-4000-8000-00000000010a'::uuid
             ELSE '00000000-0000-4000-8000-00000000010b'::uuid END,
        CASE WHEN r_urg < 0.01 THEN 'emergency' WHEN r_urg < 0.15 THEN 'urgent'
             WHEN r_urg < 0.55 THEN 'soon' ELSE 'routine' END,
        r_urg < 0.01, qualified, score,
        CASE WHEN score >= 70 THEN 'hot' WHEN score >= 40 THEN 'warm' ELSE 'cold' END,
        jsonb_build_object('score_breakdown', jsonb_build_array(
            jsonb_build_object('factor', 'service', 'points',
                               CASE WHEN qualified THEN 30 ELSE 0 END, 'max_points', 30),
            jsonb_build_object('factor', 'urgency', 'points',
                               CASE WHEN r_urg < 0.15 THEN 15 WHEN r_urg < 0.55 THEN 8
                                    ELSE 0 END, 'max_points', 15))),
        ('00000000-0000-4000-8000-0000000002' || lpad((member_no / 4)::text, 2, '0'))::uuid,
        ('00000000-0000-4000-8000-0000000003' || lpad(member_no::text, 2, '0'))::uuid,
        '{{}}', CASE WHEN r_sla < 0.95 THEN received_at + make_interval(mins => sla_min) END,
        '{{}}',
        CASE WHEN attempted THEN received_at + make_interval(secs => attempt_s) END,
        CASE WHEN connected
             THEN received_at + make_interval(secs => attempt_s + connect_extra_s) END,
        CASE WHEN r_sla < 0.95 AND (NOT attempted OR attempt_s > sla_min * 60)
             THEN received_at + make_interval(mins => sla_min) END,
        CASE WHEN r_sla < 0.95 AND NOT attempted THEN 1 + floor(r_delay * 2)::int ELSE 0 END,
        received_at
    FROM (
        SELECT d.*,
            CASE WHEN qualified THEN 40 + floor(r_score * 60)::int
                 ELSE floor(r_score * 50)::int END AS score
        FROM ({DERIVED}) d
    ) s
    ORDER BY received_at
"""

# 20 % of leads book (from the contacted ones); of those 70 % complete, 15 % no-show, 10 %
# cancel and 5 % are still booked. A third of no-shows and cancellations book again.
INSERT_APPOINTMENTS = """
    INSERT INTO appointments (id, organization_id, lead_id, status, start, "end", version,
                              updated_at, created_at)
    SELECT gen_random_uuid(), $1, id,
        CASE WHEN b < 0.70 THEN 'fulfilled' WHEN b < 0.85 THEN 'noshow'
             WHEN b < 0.95 THEN 'cancelled' ELSE 'booked' END,
        start, start + interval '30 minutes', 1, start, first_connected_at + interval '1 hour'
    FROM (
        SELECT id, first_connected_at, random() AS b,
               received_at + make_interval(days => 1 + floor(random() * 14)::int) AS start
        FROM leads
        WHERE organization_id = $1 AND first_connected_at IS NOT NULL AND random() < 0.444
    ) x
"""
REBOOK = """
    INSERT INTO appointments (id, organization_id, lead_id, status, start, "end", version,
                              updated_at, created_at)
    SELECT gen_random_uuid(), $1, lead_id, 'fulfilled', start + interval '7 days',
           start + interval '7 days 30 minutes', 1, start + interval '7 days', start
    FROM appointments
    WHERE organization_id = $1 AND status IN ('noshow', 'cancelled') AND random() < 0.33
"""
INSERT_SPEND = """
    INSERT INTO spend (id, organization_id, date, source, campaign, amount, currency)
    SELECT gen_random_uuid(), $1, d::date, s.id::text, s.label || '-' || c,
           round((50 + random() * 450)::numeric, 2), 'USD'
    FROM generate_series(date '2025-01-01', date '2025-12-31', interval '1 day') d
    CROSS JOIN (VALUES ($2::uuid, 'meta'), ($3::uuid, 'google'), ($4::uuid, 'tiktok'),
                       ($5::uuid, 'landing')) s(id, label)
    CROSS JOIN unnest(ARRAY['knee', 'hip', 'spine']) c
"""


ROLLUP_TRIGGER = "ALTER TABLE lead_metrics {verb} TRIGGER lead_rollup_metrics"
REBUILD = "SELECT lead_rollup_rebuild($1)"
# Routing's member load counters (migration 0013) take the same treatment.
LOADS_TRIGGER = "ALTER TABLE leads {verb} TRIGGER member_loads_leads"
LOADS_REBUILD = "SELECT member_loads_rebuild()"


async def _timed(conn: asyncpg.Connection, label: str, sql: str, *args: Any) -> float:
    start = time.perf_counter()
    status = await conn.execute(sql, *args)
    seconds = round(time.perf_counter() - start, 1)
    print(f"  {label:40} {seconds:7.1f} s   {status}")
    return seconds


async def seed(dsn: str, n: int) -> dict[str, float]:
    conn = await asyncpg.connect(dsn)
    await conn.execute("SET work_mem = '256MB'")
    await conn.execute(
        "INSERT INTO organizations (id, name, time_zone) VALUES ($1, 'Bench', 'America/Chicago')",
        ORG,
    )
    for label, source_id in SOURCES.items():
        await conn.execute(
            "INSERT INTO sources (id, organization_id, kind, name, settings_enc, public_settings,"
            " active, updated_at) VALUES ($1, $2, 'generic', $3, '', '{}', true, now())",
            source_id,
            ORG,
            label,
        )
    ids = list(SOURCES.values())
    print(f"seeding {n:,} leads:")
    await conn.execute("SELECT setseed(0.42)")
    # A bulk load goes in with the rollup trigger off and the rollup rebuilt after it (see
    # README, Reports): one transaction changing thousands of leads of a day would make the
    # trigger update each rollup row thousands of times.
    await conn.execute(ROLLUP_TRIGGER.format(verb="DISABLE"))
    await conn.execute(LOADS_TRIGGER.format(verb="DISABLE"))
    out = {
        "leads_s": await _timed(conn, "leads (+ lead_metrics by trigger)", INSERT_LEADS, ORG, n,
                                *ids),
        "appointments_s": await _timed(conn, "appointments (+ trigger)", INSERT_APPOINTMENTS,
                                       ORG),
        "rebookings_s": await _timed(conn, "rebookings (+ trigger)", REBOOK, ORG),
        "rollup_rebuild_s": await _timed(conn, "lead_rollup rebuilt", REBUILD, ORG),
        "loads_rebuild_s": await _timed(conn, "member loads rebuilt", LOADS_REBUILD),
        "spend_s": await _timed(conn, "spend rows", INSERT_SPEND, ORG, *ids),
        "vacuum_analyze_s": await _timed(conn, "VACUUM ANALYZE", "VACUUM ANALYZE"),
    }  # fmt: skip
    await conn.execute(ROLLUP_TRIGGER.format(verb="ENABLE"))
    await conn.execute(LOADS_TRIGGER.format(verb="ENABLE"))
    await conn.close()
    return out
