"""Speed-to-lead, drop-off and score calibration on the January data set, by hand.

Every January lead arrives at 10:00 Chicago (16:00 UTC) on day n, except lead 30 (Jan 31,
23:30). With as_of = March 1 00:00 UTC a lead of day n is (59 - n) days and 8 hours old:
(59 - n) * 24 + 8 hours.
"""

from __future__ import annotations

import httpx

from tests.reports.conftest import January, get

H = 3600


async def test_speed_to_lead(client: httpx.AsyncClient, january: January) -> None:
    body = await get(client, january.org, "speed-to-lead")
    total = body["total"]
    assert {k: v for k, v in total.items() if k not in ("dimension", "key")} == {
        "name": "Total",
        "leads": 30,
        "attempted": 25,
        "never_attempted": 5,
        "median_seconds": 480.0,  # as in the funnel
        "p90_seconds": 4680.0,
        "within_5m": 10,  # 0 1 2 2 3 3 3 4 5 5
        "within_15m": 6,  # 6 7 8 10 12 15
        "within_1h": 6,  # 20 25 30 40 45 60
        "within_4h": 2,  # 90 120
        "within_24h": 1,  # 300
        "over_24h": 0,
        "share_within_5m": 0.4,
        "sla_measured": 26,
        "within_sla": 18,
        "share_within_sla": 0.6923,
        "sla_breaches": 8,  # 5 6 14 15 23 24 26 29
        "escalated_leads": 3,  # 6 (twice), 24, 29
        "escalations": 4,
    }
    hours = {int(r["key"]): r for r in body["by_hour"]}
    assert len(hours) == 24 and sum(r["leads"] for r in body["by_hour"]) == 30
    # Hours and days as people write them, beside their keys.
    assert [hours[h]["name"] for h in (0, 7, 23)] == ["00:00–01:00", "07:00–08:00", "23:00–00:00"]  # noqa: RUF001
    assert [(r["key"], r["name"]) for r in body["by_weekday"]][::6] == [
        ("1", "Monday"),
        ("7", "Sunday"),
    ]
    # 10:00: all but lead 30; its 24 delays are the 25 above without one 3:
    # 0 1 2 2 3 3 4 5 5 6 7 8 10 12 15 20 25 30 40 45 60 90 120 300
    assert [hours[10][k] for k in ("leads", "attempted", "median_seconds", "p90_seconds")] == [
        29, 24,
        540.0,  # index 11.5 -> (8 + 10) / 2 = 9 min
        4860.0,  # index 20.7 -> 60 + 0.7 * 30 = 81 min
    ]  # fmt: skip
    assert [hours[23]["leads"], hours[23]["median_seconds"]] == [1, 180.0]  # lead 30: 3 min
    assert hours[9]["leads"] == 0 and hours[9]["median_seconds"] is None
    # January 2026 starts on a Thursday; lead 30 is on Saturday the 31st
    assert [r["leads"] for r in body["by_weekday"]] == [4, 4, 4, 5, 4, 5, 4]
    t1, t2, unrouted = body["by_team"]
    # T1 delays: 0 2 3 4 6 8 15 20 25 30 40 45 60 90 300 (15; lead 24 never attempted)
    assert [t1[k] for k in ("leads", "attempted", "median_seconds", "p90_seconds")] == [
        16, 15, 1200.0, 4680.0,  # index 7 -> 20 min; index 12.6 -> 60 + 0.6 * 30 = 78 min
    ]  # fmt: skip
    assert [t1[k] for k in ("sla_measured", "within_sla", "share_within_sla")] == [16, 10, 0.625]
    assert [t1[k] for k in ("sla_breaches", "escalated_leads", "escalations")] == [6, 2, 2]
    # T2 delays: 1 2 3 3 5 5 7 10 12 120 (10; leads 6 and 16 never attempted)
    assert [t2[k] for k in ("leads", "attempted", "median_seconds", "p90_seconds")] == [
        12, 10, 300.0, 1368.0,  # index 4.5 -> 5 min; index 8.1 -> 12 + 0.1 * 108 = 22.8 min
    ]  # fmt: skip
    assert [t2[k] for k in ("sla_measured", "within_sla", "share_within_sla")] == [10, 8, 0.8]
    assert [t2[k] for k in ("sla_breaches", "escalated_leads", "escalations")] == [2, 1, 2]
    assert [unrouted["key"], unrouted["leads"], unrouted["attempted"]] == [None, 2, 0]
    assert unrouted["name"] == "Not routed"
    m1 = next(r for r in body["by_member"] if r["key"])
    # leads 1 and 2: 2 and 4 min -> median 3 min; p90 index 0.9 -> 2 + 0.9 * 2 = 3.8 min
    assert [m1["leads"], m1["median_seconds"], m1["p90_seconds"]] == [2, 180.0, 228.0]


def _stage(leads: int, share: float, ages_h: list[float]) -> dict[str, object]:
    """ages_h: the hand-computed median, p90 and oldest age in hours."""
    median, p90, oldest = (a * H for a in ages_h)
    return {
        "leads": leads,
        "share_of_leads": share,
        "median_age_seconds": median,
        "p90_age_seconds": p90,
        "oldest_age_seconds": oldest,
        "under_1d": 0,
        "from_1d_to_7d": 0,
        "from_7d_to_30d": 0,
        "over_30d": leads,  # every January lead is over 30 days old on March 1
    }


async def test_drop_off(client: httpx.AsyncClient, january: January) -> None:
    body = await get(client, january.org, "drop-off")
    total = body["total"]
    assert [total[k] for k in ("leads", "upcoming", "completed", "stalled")] == [
        30,
        3,  # 3 19 27: appointments on March 10
        9,
        18,  # 5 + 6 + 3 + 4
    ]
    assert total["fix_first"] == "attempted_not_reached"
    stages = {s.pop("stage"): s for s in total["stages"]}
    assert list(stages) == [
        "never_attempted",
        "attempted_not_reached",
        "reached_not_booked",
        "booked_not_shown",
    ]
    # 6 16 20 24 28 -> 1280 1040 944 848 752 h; p90 index 3.6 -> 1040 + 0.6 * 240
    assert stages["never_attempted"] == _stage(5, 0.1667, [944, 1184, 1280])
    # 4 10 13 14 21 26 -> 1328 1184 1112 1088 920 800 h; median (1088 + 1112) / 2;
    # p90 index 4.5 -> (1184 + 1328) / 2
    assert stages["attempted_not_reached"] == _stage(6, 0.2, [1100, 1256, 1328])
    # 5 15 29 (15's only appointment was entered in error) -> 1304 1064 728 h;
    # p90 index 1.8 -> 1064 + 0.8 * 240
    assert stages["reached_not_booked"] == _stage(3, 0.1, [1064, 1256, 1304])
    # 8 (cancelled) 9 (passed, no outcome) 12 23 (no-shows) -> 1232 1208 1136 872 h;
    # median (1136 + 1208) / 2; p90 index 2.7 -> 1208 + 0.7 * 24
    assert stages["booked_not_shown"] == _stage(4, 0.1333, [1172, 1224.8, 1232])


async def test_drop_off_ages_and_groups(client: httpx.AsyncClient, january: January) -> None:
    # On February 1 the never-attempted leads 28, 24, 20, 16, 6 are 3, 7, 11, 15, 25 days
    # (and 8 hours) old; the February appointments are still ahead.
    body = await get(client, january.org, "drop-off", as_of="2026-02-01T00:00:00Z")
    never = body["total"]["stages"][0]
    assert [never[k] for k in ("under_1d", "from_1d_to_7d", "from_7d_to_30d", "over_30d")] == [
        0, 1, 4, 0,
    ]  # fmt: skip
    # still ahead on Feb 1: 3 9 12 19 23 27 (8's only appointment was cancelled)
    assert body["total"]["upcoming"] == 6
    by_team = await get(client, january.org, "drop-off", group_by="team")
    assert [(g["key"] is None, g["leads"], g["stalled"]) for g in by_team["rows"]] == [
        (False, 16, 9),  # T1: 24 | 4 13 14 26 | 5 29 | 12 23
        (False, 12, 7),  # T2: 6 16 | 10 21 | 15 | 8 9
        (True, 2, 2),  # 20 28
    ]


async def test_score_calibration(client: httpx.AsyncClient, january: January) -> None:
    body = await get(client, january.org, "score-calibration")
    assert body["by_band"] == [
        # hot: 1 2 3 7 11 17 18 22 25 30, all booked, all but 3 completed; scores 80, 30: 90
        {"name": "Hot", "band": "hot", "leads": 10, "booked": 10, "completed": 9,
         "booked_rate": 1.0, "completed_rate": 0.9,
         "mean_score": 81.0, "min_score": 80, "max_score": 90},
        # warm: 4 5 8 9 12 13 19 21 23 27; booked 8 9 12 19 23 27
        {"name": "Warm", "band": "warm", "leads": 10, "booked": 6, "completed": 0,
         "booked_rate": 0.6, "completed_rate": 0.0,
         "mean_score": 55.0, "min_score": 55, "max_score": 55},
        {"name": "Cold", "band": "cold", "leads": 8, "booked": 0, "completed": 0,
         "booked_rate": 0.0, "completed_rate": 0.0,
         "mean_score": 20.0, "min_score": 20, "max_score": 20},
        {"name": "Not scored", "band": None, "leads": 2, "booked": 0, "completed": 0,
         "booked_rate": 0.0, "completed_rate": 0.0,
         "mean_score": None, "min_score": None, "max_score": None},
    ]  # fmt: skip
    # urgency: full points for hot, some for warm, none for cold; consent full for the 28
    # scored leads: 16 booked / 28 = 0.571428, 9 completed / 28 = 0.321428
    assert [
        (r["factor"], r["level"], r["leads"], r["booked"], r["completed"], r["booked_rate"],
         r["completed_rate"])
        for r in body["by_factor"]
    ] == [
        ("consent", "full", 28, 16, 9, 0.5714, 0.3214),
        ("urgency", "full", 10, 10, 9, 1.0, 0.9),
        ("urgency", "partial", 10, 6, 0, 0.6, 0.0),
        ("urgency", "none", 8, 0, 0, 0.0, 0.0),
    ]  # fmt: skip
