"""Eligibility: every reason a lead is not qualified, never a reason to drop it.

A fact the lead did not give (no insurance, no age) is not held against it: it is
noted as unchecked and left for intake staff to confirm.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from app.scoring.definitions import LeadFacts, LocationMatch, Reason, ServiceMatch
from app.scoring.locations import CompiledLocation, language_code
from app.scoring.text import contains_sequence, tokens


@dataclass(frozen=True, slots=True)
class Eligibility:
    reasons: tuple[Reason, ...]
    unchecked: tuple[str, ...]

    @property
    def qualified(self) -> bool:
        return not self.reasons


def age_years(facts: LeadFacts) -> int | None:
    if facts.age is not None:
        return facts.age if facts.age >= 0 else None
    dob, as_of = facts.date_of_birth, facts.as_of
    if dob is None or as_of is None or dob > as_of:
        return None
    return _completed_years(dob, as_of)


def _completed_years(dob: date, as_of: date) -> int:
    before_birthday = (as_of.month, as_of.day) < (dob.month, dob.day)
    return as_of.year - dob.year - int(before_birthday)


def check_eligibility(
    facts: LeadFacts,
    service: ServiceMatch,
    service_name: str | None,
    location: LocationMatch,
    loc: CompiledLocation | None,
) -> Eligibility:
    reasons: list[Reason] = []
    unchecked: list[str] = []
    if service.status == "unmatched":
        reasons.append(Reason("service_unmatched", "No service matched the request."))
    if loc is None:
        reasons.append(_no_location(service, service_name, location))
        return Eligibility(tuple(reasons), tuple(unchecked))
    name = loc.defn.name
    if location.offers_service is False:
        reasons.append(
            Reason("service_not_offered", f"{name} does not offer {service_name or service.code}.")
        )
    _check_area(location, loc, reasons, unchecked)
    _check_insurance(facts, loc, reasons, unchecked)
    if not loc.defn.accepts_new_patients and facts.new_patient is not False:
        reasons.append(
            Reason("not_accepting_new_patients", f"{name} is not accepting new patients.")
        )
    _check_language(facts, loc, reasons, unchecked)
    _check_age(facts, loc, reasons, unchecked)
    return Eligibility(tuple(reasons), tuple(unchecked))


def _no_location(
    service: ServiceMatch, service_name: str | None, location: LocationMatch
) -> Reason:
    if location.offers_service is False:
        return Reason("service_not_offered", f"No location offers {service_name or service.code}.")
    return Reason(
        "no_location",
        "No location could be chosen: no usable ZIP coordinates and no preferred location.",
    )


def _check_area(
    location: LocationMatch, loc: CompiledLocation, reasons: list[Reason], unchecked: list[str]
) -> None:
    if location.in_service_area is None:
        unchecked.append("service area (no ZIP or coordinates)")
        return
    if location.in_service_area:
        return
    radius = loc.defn.service_radius_miles
    if radius is not None and location.distance_miles is not None:
        detail = f"{location.distance_miles:g} mi away, outside its {radius:g} mi service area"
    else:
        detail = "the lead's ZIP is not in its service area"
    reasons.append(Reason("outside_service_area", f"{loc.defn.name}: {detail}."))


def _check_insurance(
    facts: LeadFacts, loc: CompiledLocation, reasons: list[Reason], unchecked: list[str]
) -> None:
    if loc.plans is None:
        return
    plan = tokens(facts.insurance_plan or "")
    if not plan:
        unchecked.append("insurance (not given)")
        return
    # "Blue Cross Blue Shield PPO" is covered by an accepted "Blue Cross Blue Shield".
    if any(contains_sequence(plan, accepted) for accepted in loc.plans):
        return
    reasons.append(
        Reason(
            "insurance_not_accepted",
            f"{loc.defn.name} does not accept the insurance plan '{facts.insurance_plan}'.",
        )
    )


def _check_language(
    facts: LeadFacts, loc: CompiledLocation, reasons: list[Reason], unchecked: list[str]
) -> None:
    if not loc.languages:
        return
    if not (facts.language and facts.language.strip()):
        unchecked.append("language (not given)")
        return
    if language_code(facts.language) not in loc.languages:
        reasons.append(
            Reason(
                "language_not_spoken",
                f"{loc.defn.name} does not list the language '{facts.language}'.",
            )
        )


def _check_age(
    facts: LeadFacts, loc: CompiledLocation, reasons: list[Reason], unchecked: list[str]
) -> None:
    low, high = loc.defn.min_age, loc.defn.max_age
    if low is None and high is None:
        return
    age = age_years(facts)
    if age is None:
        unchecked.append("age (not given)")
        return
    if (low is not None and age < low) or (high is not None and age > high):
        bounds = f"{low if low is not None else 0}-{high if high is not None else 'any'}"
        reasons.append(
            Reason("age_out_of_range", f"{loc.defn.name} sees patients aged {bounds}; age {age}.")
        )
