"""The rollup-based funnel against its definition: the same report computed by scanning
`lead_metrics` with `percentile_cont` (tests/reports/oracle.py), on a year of seeded leads that
are then changed the ways intake, outreach, scheduling and erasure change them. Speed to lead
(percentiles from bucket histograms), the cost report's counts (the rollup's source and
campaign grouping) and the score factors (kept per lead) likewise."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.leads import bulk as bulk_mode
from app.reports import diagnostics, queries
from app.reports.period import Dimension, Period
from bench import seed_reports
from tests.conftest import Org
from tests.reports import oracle

LEADS = 1500
SOURCE_IDS = [uuid.uuid4() for _ in range(4)]

# Each runs with $1 = the organisation; random() is seeded, so runs are repeatable.
CHANGES = [
    # outreach: first attempts and connections, some inside 5 minutes, some after the SLA
    """UPDATE leads SET first_attempt_at = received_at + make_interval(secs => 30 + random() * 9000)
       WHERE organization_id = $1 AND first_attempt_at IS NULL AND random() < 0.3""",
    """UPDATE leads SET first_connected_at = first_attempt_at + interval '2 minutes'
       WHERE organization_id = $1 AND first_connected_at IS NULL
         AND first_attempt_at IS NOT NULL AND random() < 0.3""",
    # reassignment, re-scoring, a later resubmission, attribution corrected
    """UPDATE leads SET member_id = '00000000-0000-4000-8000-000000000399',
           team_id = NULL WHERE organization_id = $1 AND random() < 0.05""",
    """UPDATE leads SET score_band = 'hot', urgency = 'urgent', qualified = NULL
       WHERE organization_id = $1 AND random() < 0.05""",
    """UPDATE leads SET resubmission_count = resubmission_count + 2
       WHERE organization_id = $1 AND random() < 0.05""",
    """UPDATE leads SET attribution = '{"source": "flyer"}', source_id = NULL
       WHERE organization_id = $1 AND random() < 0.05""",
    # a lead marked as a test lead, another unmarked; one moved across a day boundary
    "UPDATE leads SET is_test = NOT is_test WHERE organization_id = $1 AND random() < 0.03",
    """UPDATE leads SET received_at = received_at + interval '20 hours'
       WHERE organization_id = $1 AND random() < 0.03""",
    # SLA clocks restarted into the future of the report's as_of
    """UPDATE leads SET sla_due_at = timestamptz '2025-12-30 12:00Z'
       WHERE organization_id = $1 AND random() < 0.03""",
    # scheduling: cancellations, no-shows, new bookings in the future, deleted appointments
    """UPDATE appointments SET status = 'cancelled'
       WHERE organization_id = $1 AND status = 'booked' AND random() < 0.5""",
    """UPDATE appointments SET status = 'noshow'
       WHERE organization_id = $1 AND status = 'fulfilled' AND random() < 0.1""",
    """INSERT INTO appointments (id, organization_id, lead_id, status, start, "end", version,
                                 updated_at, created_at)
       SELECT gen_random_uuid(), $1, id, 'booked', timestamptz '2025-12-31 15:00Z',
              timestamptz '2025-12-31 15:30Z', 1, now(), received_at + interval '1 day'
       FROM leads WHERE organization_id = $1 AND random() < 0.05""",
    "DELETE FROM appointments WHERE organization_id = $1 AND random() < 0.03",
    # erasure of leads (those without appointments, which restrict it)
    """DELETE FROM leads l WHERE organization_id = $1 AND random() < 0.02
       AND NOT EXISTS (SELECT 1 FROM appointments a WHERE a.lead_id = l.id)""",
]

PERIODS = [
    (dt.date(2025, 1, 1), dt.date(2025, 12, 31)),
    (dt.date(2025, 3, 5), dt.date(2025, 3, 20)),  # spring DST change, partial weeks
    (dt.date(2025, 10, 29), dt.date(2025, 11, 5)),  # autumn DST change
    (dt.date(2026, 2, 1), dt.date(2026, 2, 28)),  # no leads at all
]
AS_OF = [
    dt.datetime(2025, 3, 12, 15, tzinfo=dt.UTC),  # many visits and SLAs still ahead
    dt.datetime(2026, 6, 1, tzinfo=dt.UTC),
]
DIMENSIONS: list[Dimension | None] = [None, *Dimension]


async def _driver(session: AsyncSession) -> Any:
    """The session's asyncpg connection, inside the session's transaction (which SQLAlchemy
    begins at its first statement): nothing the test writes through it is committed."""
    await session.execute(text("SELECT 1"))
    raw = await (await session.connection()).get_raw_connection()
    return raw.driver_connection


async def _seed(session: AsyncSession, org: Org, bulk: bool = False) -> None:
    driver = await _driver(session)
    if bulk:
        await bulk_mode.enable(session)
    for i, source_id in enumerate(SOURCE_IDS):
        await driver.execute(
            "INSERT INTO sources (id, organization_id, kind, name, settings_enc, public_settings,"
            " active, updated_at) VALUES ($1, $2, 'generic', $3, '', '{}', true, now())",
            source_id,
            org.id,
            f"source {i}",
        )
    await driver.execute("SELECT setseed(0.17)")
    await driver.execute(seed_reports.INSERT_LEADS, org.id, LEADS, *SOURCE_IDS)
    await driver.execute(seed_reports.INSERT_APPOINTMENTS, org.id)
    await driver.execute(seed_reports.REBOOK, org.id)
    # Spend per source and campaign every day; a label some leads carry after the changes
    # below, and one no lead carries.
    await driver.execute(seed_reports.INSERT_SPEND, org.id, *SOURCE_IDS)
    await driver.execute(
        "INSERT INTO spend (id, organization_id, date, source, campaign, amount, currency)"
        " SELECT gen_random_uuid(), $1, d::date, s, '', 25, 'USD'"
        " FROM generate_series(date '2025-03-01', date '2025-03-31', interval '1 day') d"
        " CROSS JOIN unnest(ARRAY['flyer', 'google']) s",
        org.id,
    )


async def _change_everything(session: AsyncSession, org: Org) -> None:
    driver = await _driver(session)
    for statement in CHANGES:
        await driver.execute(statement, org.id)


async def _assert_matches_oracle(session: AsyncSession, org: Org, time_zone: str) -> int:
    compared = 0
    for first, last in PERIODS:
        for as_of in AS_OF:
            period = Period(org.id, time_zone, first, last, as_of)
            for dimension in DIMENSIONS:
                got = await queries.funnel(session, period, dimension)
                want = await oracle.funnel(session, period, dimension)
                assert got == want, (first, last, as_of, dimension)
                compared += len(got[0]) + 1
            cost = await queries.cost(session, period)
            assert cost == await oracle.cost(session, period), (first, last, as_of)
            compared += len(cost)
            _, factors = await diagnostics.calibration(session, period)
            assert factors == await oracle.factors(session, period), (first, last, as_of)
            compared += len(factors)
    return compared


@pytest.mark.parametrize("bulk", [False, True], ids=["row-by-row", "bulk"])
@pytest.mark.parametrize("changed", [False, True], ids=["seeded", "changed"])
async def test_funnel_from_rollup_equals_the_scan(
    session: AsyncSession, org: Org, changed: bool, bulk: bool
) -> None:
    await _seed(session, org, bulk)
    if changed:
        await _change_everything(session, org)
    assert await _assert_matches_oracle(session, org, "America/Chicago") > 500
    # The deltas the triggers applied add up to what a rebuild from scratch computes.
    await oracle.assert_derived_rows_consistent(session, org.id)


async def test_time_zone_change_rebuilds_the_rollup(session: AsyncSession, org: Org) -> None:
    await _seed(session, org)
    await session.execute(
        text("UPDATE organizations SET time_zone = 'Asia/Kolkata' WHERE id = :org"),
        {"org": org.id},
    )
    assert await _assert_matches_oracle(session, org, "Asia/Kolkata") > 500


async def test_rollup_ignores_test_leads_and_other_organisations(
    session: AsyncSession, org: Org, other_org: Org
) -> None:
    await _seed(session, other_org)
    await session.execute(
        text("UPDATE leads SET is_test = true WHERE organization_id = :org"), {"org": other_org.id}
    )
    assert await oracle.rollup_rows(session, org.id) == []
    assert await oracle.rollup_rows(session, other_org.id) == []
    period = Period(org.id, "America/Chicago", dt.date(2025, 1, 1), dt.date(2025, 12, 31), AS_OF[1])
    rows, total = await queries.funnel(session, period, Dimension.SOURCE)
    assert rows == [] and total["leads"] == 0 and total["attempt_pct"] is None
