"""Request and response bodies of the practice model; the descriptions are the API docs."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from app.catalog.models import DEFAULT_DUPLICATE_WINDOW_HOURS
from app.fields import DataList, PatchModel
from app.hours import WEEKDAYS, HoursError, parse_hours
from app.scoring.triage import check_pattern

_FORBID = ConfigDict(extra="forbid")

Phrase = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Phrases = Annotated[list[Phrase], Field(max_length=500)]


def _fold_code(value: object) -> object:
    # Folded before the pattern check, so "Orthopedics" collides with "orthopedics".
    return value.strip().lower() if isinstance(value, str) else value


ServiceCode = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$", max_length=64),
    BeforeValidator(_fold_code),
]
ZipCode = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^\d{5}(-?\d{4})?$")]
Interval = tuple[
    Annotated[str, StringConstraints(pattern=r"^\d\d:\d\d$")],
    Annotated[str, StringConstraints(pattern=r"^\d\d:\d\d$")],
]
WeekHours = dict[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"], list[Interval]]
# A scheduling system's code, kept as sent: FHIR codes are case-sensitive.
SchedulerCode = Annotated[str, StringConstraints(min_length=1, max_length=64)]

_HOURS_DOC = (
    'Opening hours per weekday in the location\'s time zone, e.g. `{"mon": [["08:00", '
    '"17:00"]], "sat": [["09:00", "12:00"]]}`. A missing weekday is closed; a close before '
    "the open runs overnight."
)
_INSURANCE_DOC = (
    'Plans accepted, matched as word sequences ("Blue Cross Blue Shield" covers '
    '"Blue Cross Blue Shield PPO"), or `"all"` to accept every plan, self-pay included.'
)


def check_hours(hours: WeekHours | None) -> None:
    if hours is None:
        return
    try:
        parse_hours({k: [list(iv) for iv in v] for k, v in hours.items()}, "UTC")
    except HoursError as exc:
        raise ValueError(f"hours{exc.path.replace('/', '.')}: {exc.message}") from None


class _LocationFields(BaseModel):
    # Coordinates come in pairs (the null of a missing one is the API's check alone).
    model_config = ConfigDict(
        **_FORBID,
        json_schema_extra={
            "dependentRequired": {"latitude": ["longitude"], "longitude": ["latitude"]}
        },
    )

    address: str | None = Field(default=None, max_length=300, description="Street address.")
    city: str | None = Field(default=None, max_length=100, description="Derived from the ZIP.")
    latitude: float | None = Field(
        default=None,
        ge=-90,
        le=90,
        description="Derived from the ZIP unless given (with longitude).",
    )
    longitude: float | None = Field(default=None, ge=-180, le=180)
    time_zone: str | None = Field(
        default=None, max_length=64, description="IANA zone; derived from the ZIP unless given."
    )
    phone: str | None = Field(default=None, max_length=32)
    hours: WeekHours | None = Field(default=None, description=_HOURS_DOC)
    holidays: list[dt.date] | None = Field(
        default=None, max_length=366, description="Dated closures (ISO dates)."
    )
    services: list[ServiceCode] | None = Field(
        default=None, max_length=200, description="Codes of the services offered here."
    )
    accepts_new_patients: bool | None = None
    languages: list[Annotated[str, StringConstraints(max_length=16)]] | None = Field(
        default=None,
        max_length=50,
        description="Languages spoken (`en`, `es`, ...); empty: not checked.",
    )
    insurance_plans: list[Phrase] | Literal["all"] | None = Field(
        default=None, description=_INSURANCE_DOC
    )
    min_age: int | None = Field(default=None, ge=0, le=130, description="Youngest patient seen.")
    max_age: int | None = Field(default=None, ge=0, le=130, description="Oldest patient seen.")
    service_radius_miles: float | None = Field(
        default=None, gt=0, le=500, description="Serves leads within this distance."
    )
    service_zips: list[ZipCode] | None = Field(
        default=None,
        max_length=5000,
        description="Serves leads from these ZIPs. With neither a radius nor ZIPs the location "
        "serves everyone; with both, either suffices.",
    )
    scheduler_ids: list[Annotated[str, StringConstraints(min_length=1, max_length=200)]] | None = (
        Field(
            default=None,
            max_length=50,
            description="How the scheduling system names this location: FHIR `Location` ids "
            "or identifier values (`value` or `system|value`) its Schedules' `actor` use.",
        )
    )

    @model_validator(mode="after")
    def _consistent(self) -> _LocationFields:
        if (self.latitude is None) != (self.longitude is None):
            raise ValueError("give both latitude and longitude, or neither")
        if self.min_age is not None and self.max_age is not None and self.min_age > self.max_age:
            raise ValueError("min_age must not exceed max_age")
        check_hours(self.hours)
        return self


class LocationCreate(_LocationFields):
    name: str = Field(min_length=1, max_length=200)
    postal_code: ZipCode = Field(description="The location's ZIP; coordinates derive from it.")


class LocationPatch(_LocationFields):
    """Only the fields sent change. A new ZIP re-derives city, coordinates and time zone
    unless they are sent too."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    postal_code: ZipCode | None = None


class LocationOut(BaseModel):
    id: uuid.UUID
    name: str
    address: str | None
    city: str | None
    state: str | None
    postal_code: str
    latitude: float
    longitude: float
    time_zone: str
    geo_overridden: bool = Field(description="Coordinates or time zone were given, not derived.")
    phone: str | None
    hours: dict[str, list[list[str]]]
    holidays: list[dt.date]
    services: list[str]
    accepts_new_patients: bool
    languages: list[str]
    insurance_plans: list[str] | Literal["all"]
    min_age: int | None
    max_age: int | None
    service_radius_miles: float | None
    service_zips: list[str] | None
    scheduler_ids: list[str]
    created_at: dt.datetime
    updated_at: dt.datetime


class LocationList(DataList[LocationOut]):
    pass


class _ServiceFields(BaseModel):
    model_config = _FORBID

    synonyms: Phrases | None = Field(
        default=None,
        description='Words and phrases that mean this service ("knee pain", "torn ACL"); '
        "matched with typo tolerance.",
    )
    urgency_phrases: Phrases | None = Field(
        default=None, description='Phrases that make a lead urgent ("can\'t walk").'
    )
    red_flag_phrases: Phrases | None = Field(
        default=None,
        description="Phrases that make any lead an emergency (matched exactly, negation-aware), "
        "on top of the built-in list.",
    )
    scheduler_codes: list[SchedulerCode] | None = Field(
        default=None,
        max_length=50,
        description="The scheduling system's codes for this service (FHIR `serviceType` "
        "codings, e.g. SNOMED), besides its own `code`.",
    )
    new_patient_slot_types: list[SchedulerCode] | None = Field(
        default=None,
        max_length=20,
        description="Slot `appointmentType` codes a new patient can book; empty: any free "
        "slot of the service is offered.",
    )


class ServiceCreate(_ServiceFields):
    code: ServiceCode = Field(description="Unique per organisation, e.g. `orthopedics`.")
    name: str = Field(min_length=1, max_length=200)


class ServicePatch(PatchModel, _ServiceFields):
    """Only the fields sent change; `null` empties a phrase list."""

    nullable = frozenset({"synonyms", "urgency_phrases", "red_flag_phrases"})

    code: ServiceCode | None = Field(
        default=None, description="Renaming a code renames it in every location's services."
    )
    name: str | None = Field(default=None, min_length=1, max_length=200)


class ServiceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    code: str
    name: str
    synonyms: list[str]
    urgency_phrases: list[str]
    red_flag_phrases: list[str]
    scheduler_codes: list[str]
    new_patient_slot_types: list[str]
    created_at: dt.datetime
    updated_at: dt.datetime


class ServiceList(DataList[ServiceOut]):
    pass


class RedFlagConcept(BaseModel):
    """An organisation's own concept: a code, what it means, and the words that name it."""

    model_config = _FORBID

    code: Annotated[
        str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*\.[a-z0-9_]+$", max_length=64)
    ] = Field(description="`category.name`, e.g. `eye.vision_loss`; a built-in code adds to it.")
    level: Literal["emergency", "crisis", "urgent"] = Field(
        description="`emergency`: 911; `crisis`: 988; `urgent`: urgent, not an emergency."
    )
    patterns: Annotated[list[Phrase], Field(min_length=1, max_length=50)] = Field(
        description="Token patterns: words, `prefix*`, `a|b` alternatives, `~N` gaps of up to "
        "N words, `word?` optional, e.g. `lost|losing ~2 vision|sight`. Matched in English "
        "and Spanish text with negation, history and someone else's past handled."
    )

    @field_validator("patterns")
    @classmethod
    def _usable(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            problem = check_pattern(pattern)
            if problem:
                raise ValueError(f"pattern {pattern!r}: {problem}")
        return patterns


class ScoringSettingsIn(BaseModel):
    """The whole settings document; fields left out take their defaults."""

    model_config = _FORBID

    weights: dict[str, int] | None = Field(
        default=None,
        description="Points per factor (`service`, `location`, `urgency`, `contactability`, "
        "`eligibility`, `consent`), adding up to 100. Omitted: the defaults.",
    )
    hot_threshold: int = Field(default=70, description="Scores at or above are `hot`.")
    warm_threshold: int = Field(default=40, description="Scores at or above are `warm`.")
    red_flag_phrases: Phrases = Field(
        default_factory=list,
        description="Organisation-wide red flags, on top of the built-in list and services'.",
    )
    red_flag_concepts: list[RedFlagConcept] = Field(
        default_factory=list,
        max_length=200,
        description="Organisation-wide concepts, added to the built-in ones (which no setting "
        "can remove or weaken).",
    )
    duplicate_window_hours: int = Field(
        default=DEFAULT_DUPLICATE_WINDOW_HOURS,
        gt=0,
        le=24 * 366,
        description="A repeat submission from the same phone or email within this many hours "
        "is linked to the first lead instead of creating one.",
    )
    location_preference: Literal["earliest_available", "nearest"] = Field(
        default="earliest_available",
        description="For a service with schedules: send the lead to the eligible location "
        "with the earliest free slot (ties within a day: the nearer), or to the nearest.",
    )
    availability_horizon_days: int = Field(
        default=21,
        ge=1,
        le=365,
        description="Only slots starting within this many days count; a lead with none at an "
        "eligible location is flagged `no_availability`.",
    )
    availability_max_miles: float | None = Field(
        default=None,
        gt=0,
        le=500,
        description="With `earliest_available`: never farther than this (null: the "
        "locations' own service areas decide).",
    )


class ScoringSettingsOut(BaseModel):
    weights: dict[str, int]
    hot_threshold: int
    warm_threshold: int
    red_flag_phrases: list[str]
    red_flag_concepts: list[RedFlagConcept] = Field(default_factory=list)
    duplicate_window_hours: int
    location_preference: str
    availability_horizon_days: int
    availability_max_miles: float | None
    settings_version: int = Field(description="Bumped by every change; stored on each lead.")
    practice_version: int = Field(
        description="Bumped by every location, service or settings change."
    )
    updated_at: dt.datetime | None


def hours_out(doc: dict[str, Any]) -> dict[str, list[list[str]]]:
    return {day: doc[day] for day in WEEKDAYS if doc.get(day)}
