"""The demo's history: deterministic, idempotent, consistent with leads made one by one, and
plausible in every report."""

from __future__ import annotations

import csv
import datetime as dt
import io
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.demo import history, load
from app.reports import queries
from app.reports.period import Dimension, Period
from tests.demo.conftest import DAYS, DemoHistory, make_demo_org
from tests.reports import oracle

CHICAGO = "America/Chicago"
NOW = dt.datetime(2026, 3, 18, 15, 30, tzinfo=dt.UTC)


def test_history_is_the_same_for_the_same_seed_and_day() -> None:
    first = history.arrivals(NOW, CHICAGO, days=90)
    again = history.arrivals(NOW, CHICAGO, days=90)
    assert [(a.received_at, a.body) for a in first] == [(a.received_at, a.body) for a in again]
    other = history.arrivals(NOW, CHICAGO, days=90, seed=7)
    assert [a.received_at for a in other] != [a.received_at for a in first]
    assert history.spend(NOW, CHICAGO) == history.spend(NOW, CHICAGO)


def test_ninety_days_of_a_few_thousand_leads_up_to_now() -> None:
    arrivals = history.arrivals(NOW, CHICAGO, days=90)
    assert 2000 <= len(arrivals) <= 4000
    assert all(a.received_at < NOW for a in arrivals)
    zone = ZoneInfo(CHICAGO)
    days = {a.received_at.astimezone(zone).date() for a in arrivals}
    today = NOW.astimezone(zone).date()
    # The last 28 days are always full: every one of them has leads.
    assert all(today - dt.timedelta(days=n) in days for n in range(1, 29))
    assert min(days) == today - dt.timedelta(days=90)
    kinds = {a.source for a in arrivals}
    assert {
        "google_ads_lead_form",
        "meta_lead_ads",
        "web_form",
        "call_tracking",
        "partner",
    } <= kinds
    phones = [a.body["phone"] for a in arrivals]
    assert len(set(phones)) == len(phones)  # distinct people
    assert not any("773-555-0119" in p for p in phones)  # the README's sample lead


async def test_seeding_again_adds_nothing(session: AsyncSession, demo_history: DemoHistory) -> None:
    org_id = demo_history.org.id
    before = await load.existing_history(session, org_id)
    assert before == demo_history.result.leads > 500
    again = await load.seed_history(session, org_id, days=DAYS)
    assert not again.created and again.leads == before
    assert await load.existing_history(session, org_id) == before


async def test_the_same_history_in_another_organisation(
    session: AsyncSession, demo_history: DemoHistory
) -> None:
    org = await make_demo_org(session, "Demo history twin")
    await load.seed_history(session, org.id, days=DAYS, now=demo_history.now)
    facts = """
        SELECT l.external_id, l.received_at, l.status, l.score, l.qualified, l.urgency,
               l.first_attempt_at, l.first_connected_at, t.name AS team, m.display_name,
               (SELECT count(*) FROM appointments a WHERE a.lead_id = l.id) AS appointments
        FROM leads l LEFT JOIN teams t ON t.id = l.team_id
        LEFT JOIN members m ON m.id = l.member_id
        WHERE l.organization_id = :org ORDER BY l.external_id
    """
    mine = (await session.execute(text(facts), {"org": org.id})).all()
    theirs = (await session.execute(text(facts), {"org": demo_history.org.id})).all()
    assert mine == theirs


async def test_derived_rows_equal_what_leads_made_one_by_one_give(
    session: AsyncSession, demo_history: DemoHistory
) -> None:
    """lead_metrics, the rollup and the member counters, kept by the bulk triggers, equal
    their definitions computed from scratch; every funnel equals the scan over the leads."""
    org_id = demo_history.org.id
    await oracle.assert_derived_rows_consistent(session, org_id)
    today = demo_history.now.astimezone(ZoneInfo(CHICAGO)).date()
    period = Period(org_id, CHICAGO, today - dt.timedelta(days=27), today, demo_history.now)
    for dimension in (None, *Dimension):
        assert await queries.funnel(session, period, dimension) == await oracle.funnel(
            session, period, dimension
        ), dimension


def _last_28_days(demo: DemoHistory) -> dict[str, str]:
    today = demo.now.astimezone(ZoneInfo(CHICAGO)).date()
    return {"from": str(today - dt.timedelta(days=27)), "to": str(today)}


async def test_reports_over_the_last_28_days_are_plausible(
    client: httpx.AsyncClient, demo_history: DemoHistory
) -> None:
    org = demo_history.org
    period = _last_28_days(demo_history)
    r = await client.get("/v1/reports/funnel", params=period, headers=org.headers)
    total = r.json()["total"]
    assert total["leads"] > 500
    assert 0.6 < total["qualified_rate"] < 0.95
    assert 0.3 < total["contact_rate"] < 0.9
    assert total["booked"] > 0 and total["completed"] > 0 and total["no_shows"] > 0
    assert total["cancellations"] > 0 and total["emergencies"] >= 0
    assert 0.5 < total["show_rate"] < 0.95
    first = total["first_attempt"]
    # Overall slower than in opening hours (evenings, weekends), and far from a day.
    assert 60 < first["median_seconds"] < 4 * 3600 < first["p90_seconds"]
    assert 0.1 < first["share_within_5_minutes"] < 0.8

    speed = (
        await client.get("/v1/reports/speed-to-lead", params=period, headers=org.headers)
    ).json()
    by_hour = {row["key"]: row for row in speed["by_hour"]}
    # Fast in opening hours, slow overnight.
    assert by_hour["10"]["median_seconds"] < by_hour["2"]["median_seconds"]
    by_day = {row["name"]: row for row in speed["by_weekday"]}
    assert by_day["Tuesday"]["median_seconds"] < by_day["Sunday"]["median_seconds"]

    cost = (await client.get("/v1/reports/cost", params=period, headers=org.headers)).json()
    total_cost = next(row for row in cost["rows"] if row["level"] == "total")
    assert float(total_cost["spend"]) > 10_000 and total_cost["cost_per_lead"] is not None
    google = next(row for row in cost["rows"] if row["source_name"] == "Google Ads lead forms")
    assert google["cost_per_completed_visit"] is not None
    [unmatched] = cost["unmatched_spend"]
    assert unmatched["source"] == "google" and unmatched["reason"] == "unknown_source"
    assert "Google Ads lead forms" in unmatched["suggestion"]

    drop = (await client.get("/v1/reports/drop-off", params=period, headers=org.headers)).json()
    assert drop["total"]["stalled"] > 0 and drop["total"]["fix_first"] is not None


async def test_names_beside_ids_in_json_and_csv(
    client: httpx.AsyncClient, demo_history: DemoHistory
) -> None:
    org = demo_history.org
    period = _last_28_days(demo_history)
    teams = {"Front desk — Lakeshore Streeterville", "Sleep-medicine coordinator", "Nurture queue"}
    for group_by, expected in [
        ("team", teams),
        ("member", {"Ana Ruiz", "Sam Okafor", "Quinn Adams"}),
        ("location", {"Lakeshore Streeterville", "Lakeshore Naperville"}),
        ("source", {"Google Ads lead forms", "Meta lead ads", "website"}),
        ("service", {"Orthopedics", "Sleep Medicine"}),
        ("score_band", {"Hot", "Warm", "Cold"}),
    ]:
        params = {**period, "group_by": group_by}
        body = (await client.get("/v1/reports/funnel", params=params, headers=org.headers)).json()
        names = {row["name"] for row in body["rows"]}
        assert expected <= names, (group_by, names)
        r = await client.get(
            "/v1/reports/funnel", params=params, headers={**org.headers, "Accept": "text/csv"}
        )
        rows = list(csv.reader(io.StringIO(r.text)))
        assert rows[0][:3] == ["name", "key", "row"]
        assert {row[0] for row in rows[1:-1]} == names and rows[-1][0] == "Total"
    speed = await client.get(
        "/v1/reports/speed-to-lead", params=period, headers={**org.headers, "Accept": "text/csv"}
    )
    cells = [row[0] for row in csv.reader(io.StringIO(speed.text))]
    assert cells[0] == "name" and "07:00–08:00" in cells and "Friday" in cells  # noqa: RUF001
    assert "Front desk — Lakeshore Naperville" in cells
