"""The funnel on the hand-built January data set (tests/reports/dataset.py), every figure
worked out by hand. Delays below are in minutes per lead number, as in the data set."""

from __future__ import annotations

from typing import Any

import httpx

from tests.reports.conftest import January, get


def _total() -> dict[str, Any]:
    return {
        "leads": 30,  # 30 January leads; the test lead, Dec 31 and Feb 1 leads, other org: out
        "resubmissions": 3,  # lead 1 twice, lead 11 once
        "qualified": 24,  # 30 - not qualified {5, 10, 14, 24} - unscored {20, 28}
        "emergencies": 2,  # 21, 22 (counted in leads)
        "attempted": 25,  # 30 - never attempted {6, 16, 20, 24, 28}
        "contacted": 19,  # 25 - attempted but never connected {4, 10, 13, 14, 21, 26}
        # any appointment but entered-in-error: 1 2 3 7 8 9 11 12 17 18 19 22 23 25 27 30
        "booked": 16,
        "completed": 9,  # fulfilled: 1 2 7 11 17 18 22 25 30
        "no_shows": 3,  # 2 (then completed), 12, 23
        "cancellations": 2,  # 8, 25 (then completed)
        # first kept-or-missed appointment before as_of: booked minus {3, 19, 27} (March),
        # minus 8 (cancelled only): 1 2 7 9 11 12 17 18 22 23 25 30
        "visits_due": 12,
        "qualified_rate": 0.8,  # 24 / 30
        "contact_rate": 0.6333,  # 19 / 30 = 0.63333
        "lead_to_appointment_rate": 0.5333,  # 16 / 30 = 0.53333
        "show_rate": 0.75,  # completed among visits_due (all 9 are) / 12
        "completion_rate": 0.5625,  # 9 / 16
        "first_attempt": {
            # 25 delays sorted: 0 1 2 2 3 3 3 4 5 5 | 6 7 8 10 12 15 20 25 30 40 | 45 60 90 120 300
            "median_seconds": 480.0,  # index (25-1)*0.5 = 12 -> 8 min
            "p90_seconds": 4680.0,  # index 21.6 -> 60 + 0.6 * (90 - 60) = 78 min
            "within_5_minutes": 10,  # the first ten (<= 5 min, 300 s inclusive)
            "share_within_5_minutes": 0.4,  # 10 / 25 attempted
            "sla_measured": 26,  # leads with an SLA (all but 16, 17, 20, 28), all past due
            # late or never: 5 (30>15) 6 14 (90>60) 15 (120>60) 23 (25>15) 24 26 (45>15)
            # 29 (300>60) -> 26 - 8; 13 (60 = 60) and 19 (15 = 15) are within
            "within_sla": 18,
            "share_within_sla": 0.6923,  # 18 / 26 = 0.692307
        },
        "first_connection": {
            # 19 delays sorted: 0 1 2 3 3 4 5 5 6 10 | 10 15 20 20 25 45 90 120 300
            "median_seconds": 600.0,  # index 9 -> 10 min
            "p90_seconds": 5760.0,  # index 16.2 -> 90 + 0.2 * 30 = 96 min
            "within_5_minutes": 8,  # 0 1 2 3 3 4 5 5
            "share_within_5_minutes": 0.4211,  # 8 / 19 = 0.421052
            "sla_measured": 26,
            # connected by the due time: 1 2 3 7 9 11 18 19 22 25 27 30
            "within_sla": 12,
            "share_within_sla": 0.4615,  # 12 / 26 = 0.461538
        },
    }


async def test_funnel_total_matches_the_hand_computed_figures(
    client: httpx.AsyncClient, january: January
) -> None:
    body = await get(client, january.org, "funnel")
    assert body["total"] == _total()
    assert body["rows"] == []
    assert body["period"] == {
        "from": "2026-01-01",
        "to": "2026-01-31",
        "time_zone": "America/Chicago",
        "as_of": "2026-03-01T00:00:00Z",
    }


async def test_funnel_by_source(client: httpx.AsyncClient, january: January) -> None:
    body = await get(client, january.org, "funnel", group_by="source")
    rows = {r["key"]: r for r in body["rows"]}
    # Labels are lower-cased ("Google" was sent); ordered by leads, the no-source lead last.
    assert [r["key"] for r in body["rows"]] == ["google", "meta", "referral", None]
    google = rows["google"]  # leads 1-10, 22, 23, 26, 27, 30
    assert {k: google[k] for k in ("leads", "resubmissions", "qualified", "emergencies")} == {
        "leads": 15,
        "resubmissions": 2,
        "qualified": 13,  # minus 5, 10
        "emergencies": 1,  # 22
    }
    assert [google[k] for k in ("attempted", "contacted", "booked", "completed")] == [
        14,  # minus 6
        11,  # 1 2 3 5 7 8 9 22 23 27 30
        10,  # 1 2 3 7 8 9 22 23 27 30
        5,  # 1 2 7 22 30
    ]
    assert [google[k] for k in ("no_shows", "cancellations", "visits_due")] == [2, 1, 7]
    assert google["show_rate"] == 0.7143  # 5 / 7 (due: 1 2 7 9 22 23 30)
    assert google["completion_rate"] == 0.5  # 5 / 10
    assert google["contact_rate"] == 0.7333  # 11 / 15
    attempt = google["first_attempt"]
    # 14 delays sorted: 1 2 3 3 3 4 5 5 6 8 12 25 30 45
    assert attempt["median_seconds"] == 300.0  # index 6.5 -> (5 + 5) / 2 min
    assert attempt["p90_seconds"] == 1710.0  # index 11.7 -> 25 + 0.7 * 5 = 28.5 min
    assert attempt["share_within_5_minutes"] == 0.5714  # 8 / 14
    meta, referral, none = rows["meta"], rows["referral"], rows[None]
    assert [meta[k] for k in ("leads", "qualified", "attempted", "contacted", "booked")] == [
        9, 7, 7, 5, 4,  # 11-17, 24, 25; lead 15's only appointment was entered in error
    ]  # fmt: skip
    assert [meta["completed"], meta["show_rate"], meta["resubmissions"]] == [3, 0.75, 1]
    assert [referral[k] for k in ("leads", "qualified", "contacted", "booked", "completed")] == [
        5, 4, 3, 2, 1,  # 18 19 20 21 29
    ]  # fmt: skip
    assert referral["show_rate"] == 1.0  # 18 completed / 18 due
    assert [none["leads"], none["qualified_rate"], none["show_rate"]] == [1, 0.0, None]
    assert none["first_attempt"]["median_seconds"] is None
    # the groups add up to the total
    assert sum(r["leads"] for r in body["rows"]) == body["total"]["leads"] == 30


async def test_month_boundary_follows_the_organisation_time_zone(
    client: httpx.AsyncClient, january: January
) -> None:
    """Lead 30 arrives at 23:30 on January 31 in Chicago (05:30 UTC on February 1): January.
    The lead at 00:00 on February 1 Chicago time is February's; 23:59 on December 31 is out."""
    body = await get(
        client,
        january.org,
        "funnel",
        group_by="month",
        **{"from": "2026-01-01", "to": "2026-02-28"},
    )
    assert [(r["key"], r["leads"]) for r in body["rows"]] == [
        ("2026-01-01", 30),
        ("2026-02-01", 1),
    ]
    days = await get(client, january.org, "funnel", group_by="day")
    by_day = {r["key"]: r["leads"] for r in days["rows"]}
    assert by_day["2026-01-31"] == 1  # lead 30 only; there is no lead on January 30
    assert "2026-01-30" not in by_day and len(by_day) == 30
    weeks = await get(client, january.org, "funnel", group_by="week")
    # ISO weeks start on Monday: Dec 29 (Jan 1-4), Jan 5, 12, 19, 26 (26-29 and 31)
    assert [(r["key"], r["leads"]) for r in weeks["rows"]] == [
        ("2025-12-29", 4),
        ("2026-01-05", 7),
        ("2026-01-12", 7),
        ("2026-01-19", 7),
        ("2026-01-26", 5),
    ]


async def test_other_groupings_add_up(client: httpx.AsyncClient, january: January) -> None:
    by_band = await get(client, january.org, "funnel", group_by="score_band")
    assert [(r["key"], r["leads"]) for r in by_band["rows"]] == [
        ("hot", 10),
        ("warm", 10),
        ("cold", 8),
        (None, 2),
    ]
    by_team = await get(client, january.org, "funnel", group_by="team")
    assert [r["leads"] for r in by_team["rows"]] == [16, 12, 2]  # T1, T2, unrouted


async def test_another_organisation_sees_only_its_own(
    client: httpx.AsyncClient, january: January
) -> None:
    """The other organisation has a test lead in January and leads on Dec 31 and Feb 1 only."""
    body = await get(client, january.other, "funnel", group_by="source")
    assert body["rows"] == []
    assert body["total"]["leads"] == 0
    assert body["total"]["show_rate"] is None
