"""The 0-100 score: one factor per signal, each with the evidence behind its points.

Evidence never quotes the person: only codes, concept codes, location names and
distances, so the breakdown can be stored in the clear and shown to marketing as well as intake.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from types import MappingProxyType

from app.scoring.definitions import (
    Band,
    Factor,
    LeadFacts,
    LocationMatch,
    Score,
    ScoringSettings,
    ServiceMatch,
    Urgency,
    UrgencyResult,
)
from app.scoring.eligibility import Eligibility

# Past this many miles beyond its service area a location earns no distance points.
OUT_OF_AREA_FALLOFF_MILES = 50.0
_URGENCY_SHARE: Mapping[Urgency, float] = MappingProxyType(
    {"routine": 1 / 3, "soon": 2 / 3, "urgent": 1.0, "emergency": 1.0}
)
_PHONE_SHARE = 2 / 3  # a phone reaches a patient faster than an email


def _round(value: float) -> int:
    return math.floor(value + 0.5)


def _service(service: ServiceMatch, facts: LeadFacts, weight: int) -> Factor:
    if service.status == "unmatched" or service.code is None:
        prefix = f"service code '{facts.service_code}' unknown; " if facts.service_code else ""
        return Factor("service", 0, weight, f"{prefix}no service matched: +0")
    if service.method == "code":
        return Factor("service", weight, weight, f"service code → {service.code}: +{weight}")
    # Codes only: this evidence is stored in the clear, and the phrase that matched would
    # repeat the person's words; the phrase is kept encrypted with the lead.
    if service.method == "exact":
        evidence = f"service matched a listed phrase → {service.code}: +{weight}"
        return Factor("service", weight, weight, evidence)
    points = _round(weight * service.confidence)
    evidence = (
        f"service approximately matched a listed phrase → "
        f"{service.code} (confidence {service.confidence:.2f}): +{points}"
    )
    return Factor("service", points, weight, evidence)


def _location_share(location: LocationMatch, radius: float | None) -> float:
    if location.in_service_area is True:
        return 1.0
    if location.in_service_area is None:
        return 0.5
    if location.distance_miles is None:
        return 0.0
    over = location.distance_miles - (radius or 0.0)
    return 0.5 * max(0.0, 1.0 - over / OUT_OF_AREA_FALLOFF_MILES)


def _location(location: LocationMatch, radius: float | None, weight: int) -> Factor:
    if location.location_id is None:
        return Factor("location", 0, weight, "no location chosen: +0")
    points = _round(weight * _location_share(location, radius))
    where = f"{location.name} ({location.method}"
    if location.distance_miles is not None:
        where += f", {location.distance_miles:g} mi"
    area = {True: "inside", False: "outside", None: "unknown"}[location.in_service_area]
    return Factor("location", points, weight, f"{where}), service area {area}: +{points}")


def _urgency(urgency: UrgencyResult, weight: int) -> Factor:
    points = _round(weight * _URGENCY_SHARE[urgency.level])
    why = "; ".join(urgency.evidence) or "no urgency signal"
    return Factor("urgency", points, weight, f"{urgency.level} ({why}): +{points}")


def _contactability(facts: LeadFacts, weight: int) -> Factor:
    phone_points = _round(weight * _PHONE_SHARE)
    points = 0
    parts: list[str] = []
    if facts.has_phone and facts.phone_valid:
        points += phone_points
        parts.append(f"valid phone +{phone_points}")
    else:
        parts.append("phone invalid" if facts.has_phone else "no phone")
    if facts.has_email and facts.email_valid:
        points += weight - phone_points
        parts.append(f"valid email +{weight - phone_points}")
    else:
        parts.append("email invalid" if facts.has_email else "no email")
    points = min(points, weight)
    return Factor("contactability", points, weight, f"{', '.join(parts)}: +{points}")


def _eligibility(eligibility: Eligibility, weight: int) -> Factor:
    unchecked = f"; unchecked: {', '.join(eligibility.unchecked)}" if eligibility.unchecked else ""
    if eligibility.qualified:
        return Factor("eligibility", weight, weight, f"qualified{unchecked}: +{weight}")
    codes = ", ".join(r.code for r in eligibility.reasons)
    return Factor("eligibility", 0, weight, f"not qualified ({codes}){unchecked}: +0")


def _consent(facts: LeadFacts, weight: int) -> Factor:
    if facts.consent_checked:
        return Factor("consent", weight, weight, f"consent given: +{weight}")
    return Factor("consent", 0, weight, "no consent given: +0")


def band_for(total: int, settings: ScoringSettings) -> Band:
    if total >= settings.hot_threshold:
        return "hot"
    if total >= settings.warm_threshold:
        return "warm"
    return "cold"


def score(
    facts: LeadFacts,
    service: ServiceMatch,
    location: LocationMatch,
    location_radius: float | None,
    urgency: UrgencyResult,
    eligibility: Eligibility,
    settings: ScoringSettings,
) -> Score:
    """Pure: the same decisions and settings always give the same Score."""
    w = settings.weights
    factors = (
        _service(service, facts, w.get("service", 0)),
        _location(location, location_radius, w.get("location", 0)),
        _urgency(urgency, w.get("urgency", 0)),
        _contactability(facts, w.get("contactability", 0)),
        _eligibility(eligibility, w.get("eligibility", 0)),
        _consent(facts, w.get("consent", 0)),
    )
    total = max(0, min(100, sum(f.points for f in factors)))
    return Score(
        total=total,
        band=band_for(total, settings),
        factors=factors,
        settings_version=settings.version,
    )
