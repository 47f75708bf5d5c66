"""Plain inputs and outputs of the scoring core: no ORM, no pydantic, no I/O."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from types import MappingProxyType
from typing import Literal

from app.availability.core import Choice
from app.scoring.concepts import ConceptDef
from app.scoring.triage import TriageHit

# Bump whenever a rule or default below changes meaning; every lead stores it.
SCORING_VERSION = "scoring-2"

Urgency = Literal["routine", "soon", "urgent", "emergency"]
URGENCY_RANK: Mapping[Urgency, int] = MappingProxyType(
    {"routine": 0, "soon": 1, "urgent": 2, "emergency": 3}
)
Band = Literal["hot", "warm", "cold"]
ServiceStatus = Literal["matched", "unmatched"]
ServiceMethod = Literal["code", "exact", "fuzzy", "none"]
LocationMethod = Literal["preferred", "nearest", "earliest_available", "none"]
LocationPreference = Literal["earliest_available", "nearest"]
RouteHint = Literal["urgent_team", "general_queue", "nurture", "standard"]

FACTOR_NAMES = ("service", "location", "urgency", "contactability", "eligibility", "consent")
DEFAULT_WEIGHTS: Mapping[str, int] = MappingProxyType(
    {
        "service": 30,
        "location": 20,
        "urgency": 15,
        "contactability": 15,
        "eligibility": 15,
        "consent": 5,
    }
)


@dataclass(frozen=True, slots=True)
class ServiceDef:
    code: str
    name: str
    synonyms: tuple[str, ...] = ()
    # Listed on a service, a phrase means "urgent"; generic "soon" phrases are built in.
    urgency_phrases: tuple[str, ...] = ()
    red_flag_phrases: tuple[str, ...] = ()
    # Slot appointment types a new patient can book; empty: any free slot of the service.
    new_patient_slot_types: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class LocationDef:
    id: str
    name: str
    postal_code: str
    latitude: float
    longitude: float
    time_zone: str
    services: tuple[str, ...]
    accepts_new_patients: bool = True
    # Empty: not recorded, so language is not checked.
    languages: tuple[str, ...] = ()
    # None: every plan (including self-pay) is accepted.
    insurance_accepted: tuple[str, ...] | None = None
    min_age: int | None = None
    max_age: int | None = None
    # Neither radius nor ZIPs: the location serves everyone; both: either one suffices.
    service_radius_miles: float | None = None
    service_zips: tuple[str, ...] | None = None


def _default_weights() -> Mapping[str, int]:
    return DEFAULT_WEIGHTS


@dataclass(frozen=True, slots=True)
class ScoringSettings:
    weights: Mapping[str, int] = field(default_factory=_default_weights)
    hot_threshold: int = 70
    warm_threshold: int = 40
    red_flag_phrases: tuple[str, ...] = ()
    # The organisation's own concepts: added to the built-in ones, never replacing them.
    red_flag_concepts: tuple[ConceptDef, ...] = ()
    # Carried for the organisation's settings row; dedup in intake reads it, not this core.
    duplicate_window_hours: int = 24
    version: str = "default"
    # Where a service's free slots are known: the location with the earliest one, or the
    # nearest; only slots starting within the horizon count, at most this far away.
    location_preference: LocationPreference = "earliest_available"
    availability_horizon_days: int = 21
    availability_max_miles: float | None = None


@dataclass(frozen=True, slots=True)
class LeadFacts:
    service_code: str | None = None
    service_text: str | None = None
    reason_text: str | None = None
    urgency_field: str | None = None
    requested_timeframe: str | None = None
    preferred_location: str | None = None
    postal_code: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    language: str | None = None
    insurance_plan: str | None = None
    # None is treated as a new patient: that is what a marketing lead almost always is.
    new_patient: bool | None = None
    age: int | None = None
    date_of_birth: date | None = None
    # The core never reads the clock; age from date_of_birth needs this date.
    as_of: date | None = None
    has_phone: bool = False
    phone_valid: bool = False
    has_email: bool = False
    email_valid: bool = False
    consent_checked: bool = False


@dataclass(frozen=True, slots=True)
class ServiceMatch:
    code: str | None
    status: ServiceStatus
    confidence: float
    matched_phrase: str | None = None
    matched_text: str | None = None
    method: ServiceMethod = "none"
    other_codes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class LocationMatch:
    location_id: str | None
    name: str | None = None
    distance_miles: float | None = None
    in_service_area: bool | None = None
    method: LocationMethod = "none"
    offers_service: bool | None = None


@dataclass(frozen=True, slots=True)
class Reason:
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class Factor:
    name: str
    points: int
    max_points: int
    evidence: str


@dataclass(frozen=True, slots=True)
class Score:
    total: int
    band: Band
    factors: tuple[Factor, ...]
    version: str = SCORING_VERSION
    settings_version: str = "default"


@dataclass(frozen=True, slots=True)
class UrgencyResult:
    level: Urgency
    emergency: bool
    red_flags: tuple[str, ...]
    safety_instruction: str | None
    evidence: tuple[str, ...]
    # Every affirmed concept with the words that triggered it (the words are the person's).
    concepts: tuple[TriageHit, ...] = ()
    language: str = "en"


@dataclass(frozen=True, slots=True)
class Assessment:
    service: ServiceMatch
    location: LocationMatch
    urgency: Urgency
    emergency: bool
    red_flags: tuple[str, ...]
    safety_instruction: str | None
    qualified: bool
    not_qualified_reasons: tuple[Reason, ...]
    score: Score
    urgency_evidence: tuple[str, ...] = ()
    # Set when the service's free slots were known (app.availability.core.choose).
    availability: Choice | None = None
    concepts: tuple[TriageHit, ...] = ()
    language: str = "en"

    @property
    def route_hint(self) -> RouteHint:
        if self.emergency:
            return "urgent_team"
        if self.service.status == "unmatched":
            return "general_queue"
        if not self.qualified:
            return "nurture"
        return "standard"
