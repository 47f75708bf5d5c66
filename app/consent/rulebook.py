"""Contact rules as versioned data: the typed, validated form of state_rules.json.

The rules change with legislation more often than the code does, so they live
in a data file whose version is recorded with every attempt (checklist 11).
"""

from __future__ import annotations

import calendar
import json
from collections.abc import Mapping
from datetime import date, time, timedelta
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class Channel(StrEnum):
    VOICE = "voice"
    SMS = "sms"
    EMAIL = "email"


# Texts are calls under the TCPA, so both carry the calling-hour limits.
TIMED_CHANNELS = frozenset({Channel.VOICE, Channel.SMS})

_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Window(_Frozen):
    """Local hours in which contact is allowed: start inclusive, end exclusive."""

    start: time
    end: time

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if not self.start < self.end:
            raise ValueError("window start must be before its end")
        return self


class HolidaySpec(_Frozen):
    """A fixed date (month, day) or the nth weekday of a month (nth=-1: last)."""

    name: str
    month: Annotated[int, Field(ge=1, le=12)]
    day: Annotated[int, Field(ge=1, le=31)] | None = None
    weekday: Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"] | None = None
    nth: Annotated[int, Field(ge=-1, le=5)] | None = None

    @model_validator(mode="after")
    def _one_form(self) -> Self:
        fixed = self.day is not None
        floating = self.weekday is not None and self.nth not in (None, 0)
        if fixed == floating:
            raise ValueError(f"{self.name}: give either day, or weekday and nth")
        return self

    def dates(self, year: int) -> frozenset[date]:
        """The holiday and, for fixed dates on a weekend, its observed weekday.

        Blocking both days is the stricter reading when a statute says
        "holiday" without saying whether it means the date or the day off.
        """
        if self.day is not None:
            actual = date(year, self.month, self.day)
            if actual.weekday() == 5:
                return frozenset({actual, actual - timedelta(days=1)})
            if actual.weekday() == 6:
                return frozenset({actual, actual + timedelta(days=1)})
            return frozenset({actual})
        assert self.weekday is not None and self.nth is not None
        target = _WEEKDAYS.index(self.weekday)
        days = [
            d
            for d in calendar.Calendar().itermonthdates(year, self.month)
            if d.month == self.month and d.weekday() == target
        ]
        return frozenset({days[self.nth if self.nth < 0 else self.nth - 1]})


class JurisdictionRule(_Frozen):
    """One jurisdiction's limits; absent fields impose nothing."""

    code: str
    window: Window | None = None
    max_attempts_24h: Annotated[int, Field(ge=1)] | None = None
    attempt_channels: frozenset[Channel] = frozenset()
    no_sunday: bool = False
    holidays: tuple[HolidaySpec, ...] = ()
    source: Annotated[str, Field(min_length=1)]
    secondary: bool

    @model_validator(mode="after")
    def _cap_has_channels(self) -> Self:
        if (self.max_attempts_24h is None) != (not self.attempt_channels):
            raise ValueError(f"{self.code}: max_attempts_24h and attempt_channels go together")
        return self

    def is_holiday(self, day: date) -> bool:
        return any(day in spec.dates(day.year) for spec in self.holidays)


class HealthcareExemption(_Frozen):
    """The FCC's exemption for a covered entity's free-to-end-user healthcare calls and texts,
    and the limits that come with it: what a scheduling contact without written consent may
    rest on."""

    max_per_day: Annotated[int, Field(ge=1)]
    max_per_week: Annotated[int, Field(ge=1)]
    channels: frozenset[Channel]
    source: Annotated[str, Field(min_length=1)]
    secondary: bool


class PurposeRule(_Frozen):
    """Which rules bind a contact made for one purpose, and why (the source)."""

    solicitation: bool
    needs_consent: bool
    calling_hours: bool
    attempt_caps: bool
    source: Annotated[str, Field(min_length=1)]


# A purpose the file does not name is held to every rule: the stricter reading.
ALL_RULES = PurposeRule(
    solicitation=True,
    needs_consent=True,
    calling_hours=True,
    attempt_caps=True,
    source="not in the rule file: every rule applies",
)


class Rulebook(_Frozen):
    version: Annotated[str, Field(min_length=1)]
    federal: JurisdictionRule
    states: Mapping[str, JurisdictionRule]
    healthcare_exemption: HealthcareExemption | None = None
    purposes: Mapping[str, PurposeRule] = {}

    def purpose(self, name: str) -> PurposeRule:
        return self.purposes.get(name, ALL_RULES)

    @field_validator("states")
    @classmethod
    def _codes_match(cls, states: Mapping[str, JurisdictionRule]) -> Mapping[str, JurisdictionRule]:
        for key, rule in states.items():
            if len(key) != 2 or not key.isupper() or rule.code != key:
                raise ValueError(f"state key {key!r} must be a two-letter code")
        return states


def _window(raw: object) -> dict[str, str] | None:
    if raw is None:
        return None
    if not isinstance(raw, list) or len(raw) != 2:
        raise ValueError("window must be [start, end]")
    return {"start": raw[0], "end": raw[1]}


def _jurisdiction(code: str, raw: dict[str, object], calendars: Mapping[str, object]) -> object:
    entry = dict(raw, code=code, window=_window(raw.get("window")))
    calendar_name = entry.pop("holidays", None)
    if calendar_name is not None:
        if not isinstance(calendar_name, str) or calendar_name not in calendars:
            raise ValueError(f"{code}: unknown holiday calendar {calendar_name!r}")
        entry["holidays"] = calendars[calendar_name]
    return entry


def parse_rulebook(text: str) -> Rulebook:
    """Validate the JSON rule file; raises ValueError on any malformed entry."""
    raw = json.loads(text)
    if not isinstance(raw, dict) or not isinstance(raw.get("federal"), dict):
        raise ValueError("rule file needs a top-level object with a federal entry")
    calendars = raw.get("holiday_calendars", {})
    return Rulebook.model_validate(
        {
            "version": raw.get("version"),
            "federal": _jurisdiction("US", raw["federal"], calendars),
            "states": {
                code: _jurisdiction(code, entry, calendars)
                for code, entry in raw.get("states", {}).items()
            },
            "healthcare_exemption": raw.get("healthcare_exemption"),
            "purposes": raw.get("purposes", {}),
        }
    )


@cache
def load_rulebook() -> Rulebook:
    """The rule file shipped with the package, parsed once per process."""
    text = resources.files("app.consent").joinpath("state_rules.json").read_text("utf-8")
    return parse_rulebook(text)
