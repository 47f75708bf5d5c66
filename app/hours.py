"""Weekly opening hours evaluated in a team's own IANA time zone.

Intervals are stored as minutes since local midnight (0..1440) so that "24:00"
is representable and comparisons are plain integers. Every function takes an
aware datetime and answers in UTC; wall-clock rules are applied per local date
so DST days get their real length (23 h / 25 h).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MINUTES_PER_DAY = 1440
HORIZON_DAYS = 366
_ONE_DAY = timedelta(days=1)


class HoursError(ValueError):
    """Invalid hours; `path` is a JSON pointer into the parsed document."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


class Interval(NamedTuple):
    start: int
    end: int


Day = tuple[Interval, ...]


@dataclass(frozen=True)
class WeeklyHours:
    days: tuple[Day, ...]
    time_zone: str
    holidays: frozenset[date] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if len(self.days) != 7:
            raise HoursError("", "exactly seven weekdays are required")
        try:
            ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise HoursError("/time_zone", f"unknown time zone {self.time_zone!r}") from exc
        normalised = tuple(
            _normalise_day(day, f"/{WEEKDAYS[i]}") for i, day in enumerate(self.days)
        )
        # Frozen, but normalising here keeps every constructor path consistent.
        object.__setattr__(self, "days", normalised)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"time_zone": self.time_zone}
        for name, day in zip(WEEKDAYS, self.days, strict=True):
            out[name] = [[_fmt(iv.start), _fmt(iv.end)] for iv in day]
        out["holidays"] = [d.isoformat() for d in sorted(self.holidays)]
        return out


def _normalise_day(day: Sequence[tuple[int, int]], path: str) -> Day:
    for i, (start, end) in enumerate(day):
        if not 0 <= start < end <= MINUTES_PER_DAY:
            raise HoursError(f"{path}/{i}", "interval must satisfy 00:00 <= open < close <= 24:00")
    merged: list[Interval] = []
    for start, end in sorted(day):
        if merged and start <= merged[-1].end:
            merged[-1] = Interval(merged[-1].start, max(merged[-1].end, end))
        else:
            merged.append(Interval(start, end))
    return tuple(merged)


def always_open(time_zone: str = "UTC") -> WeeklyHours:
    return WeeklyHours(days=((Interval(0, MINUTES_PER_DAY),),) * 7, time_zone=time_zone)


def _fmt(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _parse_minute(text: object, path: str) -> int:
    if not isinstance(text, str) or len(text) != 5 or text[2] != ":":
        raise HoursError(path, 'expected "HH:MM"')
    hh, mm = text[:2], text[3:]
    if not (hh.isdigit() and mm.isdigit()):
        raise HoursError(path, 'expected "HH:MM"')
    minute = int(hh) * 60 + int(mm)
    if int(mm) > 59 or minute > MINUTES_PER_DAY:
        raise HoursError(path, "time out of range (00:00..24:00)")
    return minute


def parse_hours(data: Mapping[str, Any], time_zone: str | None = None) -> WeeklyHours:
    """Build hours from `{"time_zone": ..., "mon": [["08:00", "17:00"]], "holidays": [...]}`.

    A missing weekday is closed. An interval whose close is not after its open
    (["20:00", "08:00"]) runs overnight and is split at midnight into this day
    and the next, so holidays apply per local date.
    """
    unknown = set(data) - {*WEEKDAYS, "time_zone", "holidays"}
    if unknown:
        raise HoursError(f"/{sorted(unknown)[0]}", "unknown key")
    zone = data.get("time_zone", time_zone)
    if not isinstance(zone, str):
        raise HoursError("/time_zone", "an IANA time zone is required")
    days: list[list[tuple[int, int]]] = [[] for _ in WEEKDAYS]
    for index, name in enumerate(WEEKDAYS):
        for start, end in _parse_day(data.get(name, []), f"/{name}"):
            if end > start:
                days[index].append((start, end))
            else:
                days[index].append((start, MINUTES_PER_DAY))
                if end > 0:
                    days[(index + 1) % 7].append((0, end))
    return WeeklyHours(
        days=tuple(tuple(Interval(s, e) for s, e in d) for d in days),
        time_zone=zone,
        holidays=_parse_holidays(data.get("holidays", [])),
    )


def _parse_day(raw: object, path: str) -> list[tuple[int, int]]:
    if not isinstance(raw, list):
        raise HoursError(path, "expected a list of [open, close] pairs")
    out: list[tuple[int, int]] = []
    for i, pair in enumerate(raw):
        if not isinstance(pair, list | tuple) or len(pair) != 2:
            raise HoursError(f"{path}/{i}", "expected [open, close]")
        start = _parse_minute(pair[0], f"{path}/{i}/0")
        end = _parse_minute(pair[1], f"{path}/{i}/1")
        if start in (MINUTES_PER_DAY, end):
            raise HoursError(f"{path}/{i}", "empty interval; use 00:00-24:00 for all day")
        out.append((start, end))
    return out


def _parse_holidays(raw: object) -> frozenset[date]:
    if not isinstance(raw, list):
        raise HoursError("/holidays", "expected a list of ISO dates")
    out: set[date] = set()
    for i, item in enumerate(raw):
        try:
            out.add(date.fromisoformat(item))
        except (TypeError, ValueError) as exc:
            raise HoursError(f"/holidays/{i}", "expected an ISO date YYYY-MM-DD") from exc
    return frozenset(out)


def _require_aware(at: datetime) -> None:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("an aware datetime is required")


def _to_utc(day: date, minute: int, zone: ZoneInfo) -> datetime:
    if minute == MINUTES_PER_DAY:
        day, minute = day + _ONE_DAY, 0
    # fold=0: an ambiguous wall time is its first occurrence; a wall time in the
    # spring-forward gap uses the pre-transition offset (02:30 -> 03:30 EDT).
    local = datetime(day.year, day.month, day.day, minute // 60, minute % 60, tzinfo=zone)
    return local.astimezone(UTC)


def _utc_intervals(hours: WeeklyHours, first: date) -> Iterator[tuple[datetime, datetime]]:
    """Open intervals in UTC, in order, from local date `first` onwards.

    Stops after HORIZON_DAYS local days without any opening, which is how
    callers tell "never opens" from "opens much later".
    """
    zone = hours.zone
    day = first
    last_end: datetime | None = None
    idle_days = 0
    while idle_days <= HORIZON_DAYS:
        idle_days += 1
        if day not in hours.holidays:
            for iv in hours.days[day.weekday()]:
                start, end = _to_utc(day, iv.start, zone), _to_utc(day, iv.end, zone)
                if last_end is not None and start < last_end:
                    # Spring-forward gaps can map wall times out of order.
                    start = last_end
                if start < end:
                    idle_days = 0
                    last_end = end
                    yield start, end
        day += _ONE_DAY


def _local_date(hours: WeeklyHours, at: datetime) -> date:
    return at.astimezone(hours.zone).date()


def is_open(hours: WeeklyHours, at: datetime) -> bool:
    _require_aware(at)
    # Start a day early: an interval ending at 24:00 yesterday may matter when
    # a zone changes offset at midnight.
    for start, end in _utc_intervals(hours, _local_date(hours, at) - _ONE_DAY):
        if start > at:
            return False
        if at < end:
            return True
    return False


def next_opening(hours: WeeklyHours, at: datetime) -> datetime | None:
    """`at` itself (in UTC) when open; None when closed for the next 366 days."""
    _require_aware(at)
    limit = at + timedelta(days=HORIZON_DAYS)
    for start, end in _utc_intervals(hours, _local_date(hours, at) - _ONE_DAY):
        if start > limit:
            return None
        if end > at:
            return max(start, at).astimezone(UTC)
    return None


def add_business_minutes(hours: WeeklyHours, start: datetime, minutes: float) -> datetime:
    """The instant by which `minutes` of open time have elapsed after `start`.

    Counting starts at the next opening when `start` is outside hours; a result
    that lands exactly on a closing time is that closing time.
    """
    _require_aware(start)
    if minutes < 0:
        raise ValueError("minutes must be >= 0")
    remaining = timedelta(minutes=minutes)
    for iv_start, iv_end in _utc_intervals(hours, _local_date(hours, start) - _ONE_DAY):
        if iv_end <= start:
            continue
        begin = max(iv_start, start)
        available = iv_end - begin
        if remaining <= available:
            return (begin + remaining).astimezone(UTC)
        remaining -= available
    raise ValueError("the hours never open, so business time cannot elapse")
