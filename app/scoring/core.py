"""Scoring and qualification core: compile a practice once, then decide per lead.

`compile_practice` does the slow part (normalising and indexing every phrase) so
`decide` stays well under a millisecond. Both are pure: no I/O, no clock, no
randomness; the same facts and practice always give the same Assessment.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from app.availability.core import SlotBook, window
from app.scoring.definitions import (
    DEFAULT_WEIGHTS,
    FACTOR_NAMES,
    SCORING_VERSION,
    Assessment,
    Factor,
    LeadFacts,
    LocationDef,
    LocationMatch,
    Reason,
    Score,
    ScoringSettings,
    ServiceDef,
    ServiceMatch,
    UrgencyResult,
)
from app.scoring.eligibility import check_eligibility
from app.scoring.geo import valid_point
from app.scoring.locations import (
    CompiledLocation,
    choose_by_availability,
    choose_location,
    compile_location,
    lookup_table,
)
from app.scoring.points import score
from app.scoring.safety import (
    CRISIS_INSTRUCTION,
    EMERGENCY_INSTRUCTION,
    assess_urgency,
    build_triage,
)
from app.scoring.text import (
    Clauses,
    PhraseEntry,
    PhraseHit,
    PhraseIndex,
    build_index,
    clauses,
    raw_clauses,
    stemmed,
)
from app.scoring.text import key as text_key
from app.scoring.text import tokens as text_tokens
from app.scoring.triage import Triage

__all__ = [
    "CRISIS_INSTRUCTION",
    "DEFAULT_WEIGHTS",
    "EMERGENCY_INSTRUCTION",
    "SCORING_VERSION",
    "Assessment",
    "CompiledPractice",
    "Factor",
    "LeadFacts",
    "LocationDef",
    "LocationMatch",
    "Reason",
    "Score",
    "ScoringSettings",
    "ServiceDef",
    "ServiceMatch",
    "Slots",
    "compile_practice",
    "decide",
    "match_service",
    "settings_problems",
]

EXACT_PHRASE_CONFIDENCE = 0.95


@dataclass(frozen=True, slots=True)
class CompiledPractice:
    services: Mapping[str, ServiceDef]
    locations: tuple[CompiledLocation, ...]
    location_table: Mapping[str, CompiledLocation]
    settings: ScoringSettings
    service_index: PhraseIndex
    triage: Triage


def settings_problems(settings: ScoringSettings) -> tuple[str, ...]:
    """Human-readable problems; empty when the settings are usable."""
    problems: list[str] = []
    unknown = sorted(set(settings.weights) - set(FACTOR_NAMES))
    if unknown:
        problems.append(f"unknown weight names: {', '.join(unknown)}")
    if any(v < 0 for v in settings.weights.values()):
        problems.append("weights must not be negative")
    total = sum(settings.weights.get(name, 0) for name in FACTOR_NAMES)
    if total != 100:
        problems.append(f"weights must add up to 100, got {total}")
    if not 0 <= settings.warm_threshold <= settings.hot_threshold <= 100:
        problems.append("thresholds must satisfy 0 <= warm <= hot <= 100")
    if settings.duplicate_window_hours <= 0:
        problems.append("duplicate window must be positive")
    return tuple(problems)


def _service_entries(services: Iterable[ServiceDef]) -> Iterable[PhraseEntry]:
    for service in services:
        tag = text_key(service.code)
        for phrase in (service.name, service.code, *service.synonyms):
            yield PhraseEntry(phrase, text_tokens(phrase), tag)


def _check_definitions(
    services: tuple[ServiceDef, ...], locations: tuple[LocationDef, ...]
) -> None:
    codes = [text_key(s.code) for s in services]
    if len(set(codes)) != len(codes) or not all(codes):
        raise ValueError("service codes must be non-empty and unique")
    ids = [loc.id for loc in locations]
    if len(set(ids)) != len(ids):
        raise ValueError("location ids must be unique")
    for loc in locations:
        if not valid_point(loc.latitude, loc.longitude):
            raise ValueError(f"location {loc.id} has invalid coordinates")


def compile_practice(
    services: Iterable[ServiceDef],
    locations: Iterable[LocationDef],
    settings: ScoringSettings | None = None,
) -> CompiledPractice:
    """Validate and index a practice; raises ValueError on unusable definitions."""
    settings = settings or ScoringSettings()
    problems = settings_problems(settings)
    if problems:
        raise ValueError("; ".join(problems))
    service_defs = tuple(sorted(services, key=lambda s: text_key(s.code)))
    location_defs = tuple(sorted(locations, key=lambda loc: loc.id))
    _check_definitions(service_defs, location_defs)
    compiled_locations = tuple(compile_location(loc) for loc in location_defs)
    return CompiledPractice(
        services=MappingProxyType({text_key(s.code): s for s in service_defs}),
        locations=compiled_locations,
        location_table=MappingProxyType(lookup_table(compiled_locations)),
        settings=settings,
        service_index=build_index(_service_entries(service_defs), fuzzy=True),
        triage=build_triage(service_defs, settings),
    )


def _rank(hit: PhraseHit) -> tuple[int, float, int, str, str]:
    # Most specific first: more words, then closer spelling, then longer phrase.
    entry = hit.entry
    return (-len(entry.tokens), -hit.similarity, -len(entry.phrase), entry.tag, entry.phrase)


def _match_text(practice: CompiledPractice, primary: Clauses, secondary: Clauses) -> ServiceMatch:
    # "not knee pain, it's the snoring": a denied complaint is not the request.
    primary_hits = practice.service_index.find(primary, skip_negated=True)
    secondary_hits = practice.service_index.find(secondary, skip_negated=True)
    # The service field speaks for the request; the reason text only fills a gap.
    hits = primary_hits or secondary_hits
    if not hits:
        return ServiceMatch(None, "unmatched", 0.0)
    best = min(hits, key=_rank)
    tags = {h.entry.tag for h in (*primary_hits, *secondary_hits)} - {best.entry.tag}
    exact = best.exact
    return ServiceMatch(
        code=practice.services[best.entry.tag].code,
        status="matched",
        confidence=EXACT_PHRASE_CONFIDENCE
        if exact
        else round(EXACT_PHRASE_CONFIDENCE * best.similarity, 2),
        matched_phrase=best.entry.phrase,
        matched_text=best.matched_text,
        method="exact" if exact else "fuzzy",
        other_codes=tuple(practice.services[t].code for t in sorted(tags)),
    )


def match_service(
    facts: LeadFacts,
    practice: CompiledPractice,
    primary: Clauses | None = None,
    secondary: Clauses | None = None,
) -> ServiceMatch:
    """An explicit, known service code wins; otherwise the free text decides."""
    code_key = text_key(facts.service_code or "")
    if code_key and code_key in practice.services:
        return ServiceMatch(practice.services[code_key].code, "matched", 1.0, method="code")
    if primary is None:
        primary = clauses(facts.service_text)
    if secondary is None:
        secondary = clauses(facts.reason_text)
    return _match_text(practice, primary, secondary)


def _service_name(practice: CompiledPractice, service: ServiceMatch) -> str | None:
    if service.code is None:
        return None
    return practice.services[text_key(service.code)].name


@dataclass(frozen=True, slots=True)
class LoadedPractice:
    version: int
    compiled: CompiledPractice
    # Without both a service and a location no lead can qualify: that's setup, not the lead.
    configured: bool
    # Service codes some active schedule books: only their leads read free slots.
    scheduled: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Slots:
    """The free slots known for the lead's matched service, and the decision's instant."""

    book: SlotBook
    now: dt.datetime


def decide(
    facts: LeadFacts,
    practice: CompiledPractice,
    *,
    service: ServiceMatch | None = None,
    slots: Slots | None = None,
) -> Assessment:
    """Service, location, urgency, eligibility and score for one lead.

    `service` is the match already made (`match_service`); `slots`, the matched service's
    free slots when it has schedules: the location may then be chosen by availability.
    """
    raw_primary, raw_secondary = raw_clauses(facts.service_text), raw_clauses(facts.reason_text)
    primary, secondary = stemmed(raw_primary), stemmed(raw_secondary)
    if service is None:
        service = match_service(facts, practice, primary, secondary)
    service_key = text_key(service.code) if service.code else None
    choice = None
    if (
        slots is not None
        and service_key is not None
        and text_key(slots.book.service) == service_key
    ):
        defn = practice.services[service_key]
        settings = practice.settings
        win = window(
            slots.now,
            settings.availability_horizon_days,
            defn.new_patient_slot_types,
            facts.new_patient,
        )
        location, loc, choice = choose_by_availability(
            facts,
            service_key,
            practice.locations,
            practice.location_table,
            slots.book,
            win,
            settings,
        )
    else:
        location, loc = choose_location(
            facts, service_key, practice.locations, practice.location_table
        )
    urgency: UrgencyResult = assess_urgency(facts, raw_primary + raw_secondary, practice.triage)
    eligibility = check_eligibility(facts, service, _service_name(practice, service), location, loc)
    radius = loc.defn.service_radius_miles if loc else None
    result = score(facts, service, location, radius, urgency, eligibility, practice.settings)
    return Assessment(
        service=service,
        location=location,
        urgency=urgency.level,
        emergency=urgency.emergency,
        red_flags=urgency.red_flags,
        safety_instruction=urgency.safety_instruction,
        qualified=eligibility.qualified,
        not_qualified_reasons=eligibility.reasons,
        score=result,
        urgency_evidence=urgency.evidence,
        availability=choice,
        concepts=urgency.concepts,
        language=urgency.language,
    )
