from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from app.hours import (
    HoursError,
    WeeklyHours,
    add_business_minutes,
    always_open,
    is_open,
    next_opening,
    parse_hours,
)

CHI = ZoneInfo("America/Chicago")
NY = ZoneInfo("America/New_York")
WEEKDAYS_8_17 = {d: [["08:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}

OFFICE = parse_hours({"time_zone": "America/Chicago", **WEEKDAYS_8_17, "holidays": ["2026-12-25"]})
# A nurse line open overnight every day, 20:00 to 08:00 the next morning.
NURSE = parse_hours(
    {
        "time_zone": "America/New_York",
        **{d: [["20:00", "08:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
    }
)
NY_24H = parse_hours(
    {"time_zone": "America/New_York", **{d: [["00:00", "24:00"]] for d in ("sat", "sun")}}
)
NY_OFFICE = parse_hours(
    {"time_zone": "America/New_York", **WEEKDAYS_8_17, "sun": [["01:00", "04:00"]]}
)
CLOSED = WeeklyHours(days=((),) * 7, time_zone="UTC")


def chi(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, s, tzinfo=CHI)


def ny(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=NY)


# 2026-03-02 is a Monday; 2026-03-08 is the US spring-forward Sunday,
# 2026-11-01 the fall-back Sunday; 2026-12-25 is a Friday.
@pytest.mark.parametrize(
    ("hours", "at", "expected"),
    [
        (OFFICE, chi(2026, 3, 2, 8, 0), True),  # exactly at open
        (OFFICE, chi(2026, 3, 2, 7, 59, 59), False),
        (OFFICE, chi(2026, 3, 2, 16, 59), True),
        (OFFICE, chi(2026, 3, 2, 17, 0), False),  # exactly at close
        (OFFICE, chi(2026, 3, 7, 12, 0), False),  # Saturday
        (OFFICE, chi(2026, 12, 25, 10, 0), False),  # holiday
        (OFFICE, chi(2026, 12, 24, 10, 0), True),
        (OFFICE, datetime(2026, 3, 2, 14, 0, tzinfo=UTC), True),  # 08:00 CST
        (OFFICE, datetime(2026, 3, 2, 13, 59, tzinfo=UTC), False),
        (NURSE, ny(2026, 3, 3, 23, 59), True),
        (NURSE, ny(2026, 3, 4, 0, 0), True),  # across midnight
        (NURSE, ny(2026, 3, 4, 7, 59), True),
        (NURSE, ny(2026, 3, 4, 8, 0), False),
        (NURSE, ny(2026, 3, 4, 19, 59), False),
        (always_open("America/New_York"), ny(2026, 3, 8, 3, 0), True),
        (CLOSED, datetime(2026, 3, 8, tzinfo=UTC), False),
        # Spring forward: 02:00 EST -> 03:00 EDT, still inside the Sunday window.
        (NY_OFFICE, datetime(2026, 3, 8, 6, 59, tzinfo=UTC), True),  # 01:59 EST
        (NY_OFFICE, datetime(2026, 3, 8, 7, 30, tzinfo=UTC), True),  # 03:30 EDT
        (NY_OFFICE, datetime(2026, 3, 8, 8, 0, tzinfo=UTC), False),  # 04:00 EDT
        # Fall back: 01:00-04:00 local lasts four real hours.
        (NY_OFFICE, datetime(2026, 11, 1, 5, 0, tzinfo=UTC), True),  # 01:00 EDT
        (NY_OFFICE, datetime(2026, 11, 1, 6, 30, tzinfo=UTC), True),  # 01:30 EST
        (NY_OFFICE, datetime(2026, 11, 1, 8, 59, tzinfo=UTC), True),  # 03:59 EST
        (NY_OFFICE, datetime(2026, 11, 1, 9, 0, tzinfo=UTC), False),  # 04:00 EST
    ],
)
def test_is_open(hours: WeeklyHours, at: datetime, expected: bool) -> None:
    assert is_open(hours, at) is expected


@pytest.mark.parametrize(
    ("hours", "at", "expected"),
    [
        # Saturday 23:00 -> Monday 08:00 in the team's zone (CST = UTC-6).
        (OFFICE, chi(2026, 3, 7, 23, 0), chi(2026, 3, 9, 8, 0)),
        (OFFICE, chi(2026, 3, 2, 9, 30), chi(2026, 3, 2, 9, 30)),  # open: now
        (OFFICE, chi(2026, 3, 2, 17, 0), chi(2026, 3, 3, 8, 0)),
        (OFFICE, chi(2026, 12, 24, 17, 0), chi(2026, 12, 28, 8, 0)),  # skips holiday
        # Across spring forward: Monday 08:00 is now CDT (UTC-5).
        (OFFICE, chi(2026, 3, 6, 18, 0), datetime(2026, 3, 9, 13, 0, tzinfo=UTC)),
        # Across fall back: Monday 08:00 CST (UTC-6).
        (OFFICE, chi(2026, 10, 30, 18, 0), datetime(2026, 11, 2, 14, 0, tzinfo=UTC)),
        (NURSE, ny(2026, 3, 4, 12, 0), ny(2026, 3, 4, 20, 0)),
        (NY_24H, ny(2026, 3, 6, 12, 0), ny(2026, 3, 7, 0, 0)),
        (CLOSED, datetime(2026, 3, 8, tzinfo=UTC), None),
    ],
)
def test_next_opening(hours: WeeklyHours, at: datetime, expected: datetime | None) -> None:
    result = next_opening(hours, at)
    assert result == expected
    if result is not None:
        assert result.tzinfo is UTC


def test_next_opening_is_monday_0800_local() -> None:
    result = next_opening(OFFICE, chi(2026, 3, 7, 23, 0))
    assert result is not None
    local = result.astimezone(CHI)
    assert (local.weekday(), local.hour, local.minute) == (0, 8, 0)


@pytest.mark.parametrize(
    ("hours", "start", "minutes", "expected"),
    [
        (OFFICE, chi(2026, 3, 2, 9, 0), 30, chi(2026, 3, 2, 9, 30)),
        (OFFICE, chi(2026, 3, 2, 16, 30), 60, chi(2026, 3, 3, 8, 30)),  # across close
        (OFFICE, chi(2026, 3, 2, 16, 0), 60, chi(2026, 3, 2, 17, 0)),  # lands on close
        (OFFICE, chi(2026, 3, 6, 16, 0), 120, chi(2026, 3, 9, 9, 0)),  # across weekend + DST
        (OFFICE, chi(2026, 3, 7, 23, 0), 15, chi(2026, 3, 9, 8, 15)),  # starts at opening
        (OFFICE, chi(2026, 3, 2, 8, 0), 0, chi(2026, 3, 2, 8, 0)),
        (OFFICE, chi(2026, 3, 2, 6, 0), 0, chi(2026, 3, 2, 8, 0)),
        (OFFICE, chi(2026, 3, 2, 8, 0), 9 * 60 * 5, chi(2026, 3, 6, 17, 0)),  # a full week
        (NURSE, ny(2026, 3, 3, 23, 0), 120, ny(2026, 3, 4, 1, 0)),  # across midnight
        (NURSE, ny(2026, 3, 4, 7, 0), 120, ny(2026, 3, 4, 21, 0)),
        # Overnight across fall back: 20:00 Sat to 08:00 Sun is 13 real hours.
        (NURSE, ny(2026, 10, 31, 20, 0), 13 * 60, ny(2026, 11, 1, 8, 0)),
        (
            always_open(),
            datetime(2026, 3, 8, tzinfo=UTC),
            90,
            datetime(2026, 3, 8, 1, 30, tzinfo=UTC),
        ),
    ],
)
def test_add_business_minutes(
    hours: WeeklyHours, start: datetime, minutes: int, expected: datetime
) -> None:
    assert add_business_minutes(hours, start, minutes) == expected


def test_spring_forward_night_is_an_hour_shorter() -> None:
    # 20:00 Sat to 08:00 Sun across spring forward is 11 real hours.
    start = ny(2026, 3, 7, 20, 0)
    assert add_business_minutes(NURSE, start, 11 * 60) == ny(2026, 3, 8, 8, 0)
    assert add_business_minutes(NURSE, start, 11 * 60 + 1) == ny(2026, 3, 8, 20, 1)


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda: add_business_minutes(CLOSED, datetime(2026, 1, 1, tzinfo=UTC), 1), ValueError),
        (lambda: add_business_minutes(OFFICE, chi(2026, 1, 1), -1), ValueError),
        (lambda: is_open(OFFICE, datetime(2026, 1, 1)), ValueError),  # naive
    ],
)
def test_invalid_calls(call: object, error: type[Exception]) -> None:
    with pytest.raises(error):
        call()  # type: ignore[operator]


@pytest.mark.parametrize(
    ("data", "path"),
    [
        ({"mon": [["08:00", "17:00"]]}, "/time_zone"),
        ({"time_zone": "Mars/Olympus"}, "/time_zone"),
        ({"time_zone": "UTC", "mon": [["8:00", "17:00"]]}, "/mon/0/0"),
        ({"time_zone": "UTC", "mon": [["08:00", "25:00"]]}, "/mon/0/1"),
        ({"time_zone": "UTC", "mon": [["08:00", "08:00"]]}, "/mon/0"),
        ({"time_zone": "UTC", "mon": [["24:00", "08:00"]]}, "/mon/0"),
        ({"time_zone": "UTC", "mon": "08:00-17:00"}, "/mon"),
        ({"time_zone": "UTC", "monday": []}, "/monday"),
        ({"time_zone": "UTC", "holidays": ["12/25/2026"]}, "/holidays/0"),
    ],
)
def test_parse_errors(data: dict[str, object], path: str) -> None:
    with pytest.raises(HoursError) as info:
        parse_hours(data)
    assert info.value.path == path


def test_round_trip_and_normalisation() -> None:
    data = {
        "time_zone": "America/New_York",
        "mon": [["13:00", "17:00"], ["08:00", "12:00"], ["11:00", "13:00"]],
        "sun": [["22:00", "02:00"]],
        "holidays": ["2026-07-03"],
    }
    hours = parse_hours(data)
    out = hours.to_json()
    assert out["mon"] == [["00:00", "02:00"], ["08:00", "17:00"]]
    assert out["sun"] == [["22:00", "24:00"]]
    assert out["holidays"] == ["2026-07-03"]
    assert parse_hours(out) == hours
    assert hours.holidays == frozenset({date(2026, 7, 3)})


def test_default_zone_argument_and_every_result_in_utc() -> None:
    hours = parse_hours({"mon": [["08:00", "17:00"]]}, time_zone="America/Chicago")
    at = chi(2026, 3, 2, 7, 0)
    opening = next_opening(hours, at)
    assert opening == at + timedelta(hours=1)
    assert opening is not None and opening.tzinfo is UTC
