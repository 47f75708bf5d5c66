"""Choosing the location for a lead: preferred first, else nearest that serves it."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from app.availability.core import Candidate, Choice, SlotBook, Window, choose
from app.scoring.definitions import LeadFacts, LocationDef, LocationMatch, ScoringSettings
from app.scoring.geo import haversine_miles, haversine_radians, valid_point
from app.scoring.text import key, tokens, words

# Radius comparisons are inclusive; the epsilon absorbs float noise at the edge.
_EDGE_EPSILON_MILES = 1e-9
_NON_DIGIT = re.compile(r"\D")

_LANGUAGE_ALIASES: Mapping[str, str] = MappingProxyType(
    {
        "english": "en",
        "spanish": "es",
        "espanol": "es",
        "polish": "pl",
        "polski": "pl",
        "chinese": "zh",
        "mandarin": "zh",
        "cantonese": "yue",
        "arabic": "ar",
        "russian": "ru",
        "tagalog": "tl",
        "filipino": "tl",
        "vietnamese": "vi",
        "korean": "ko",
        "french": "fr",
        "hindi": "hi",
        "urdu": "ur",
        "portuguese": "pt",
        "german": "de",
        "italian": "it",
        "gujarati": "gu",
        "ukrainian": "uk",
        "american sign language": "asl",
    }
)


def language_code(value: str) -> str:
    folded = key(value)
    if folded in _LANGUAGE_ALIASES:
        return _LANGUAGE_ALIASES[folded]
    parts = folded.split()
    # "en-US", "es_MX": the region does not change who can talk to the patient.
    if parts and len(parts[0]) in (2, 3) and len(parts) <= 2:
        return parts[0]
    return folded


def zip5(value: str | None) -> str | None:
    digits = _NON_DIGIT.sub("", value or "")
    return digits[:5] if len(digits) >= 5 else None


@dataclass(frozen=True, slots=True)
class CompiledLocation:
    defn: LocationDef
    service_keys: frozenset[str]
    zips: frozenset[str] | None
    plans: tuple[tuple[str, ...], ...] | None
    languages: frozenset[str]
    phi: float
    lam: float


def compile_location(loc: LocationDef) -> CompiledLocation:
    plans = loc.insurance_accepted
    if plans is not None and any(key(p) in ("all", "any") for p in plans):
        plans = None
    zips = None
    if loc.service_zips is not None:
        zips = frozenset(z for z in (zip5(v) for v in loc.service_zips) if z)
    return CompiledLocation(
        defn=loc,
        service_keys=frozenset(key(s) for s in loc.services),
        zips=zips,
        plans=None if plans is None else tuple(t for t in (tokens(p) for p in plans) if t),
        languages=frozenset(language_code(lang) for lang in loc.languages),
        phi=math.radians(loc.latitude),
        lam=math.radians(loc.longitude),
    )


def lookup_table(locations: Iterable[CompiledLocation]) -> dict[str, CompiledLocation]:
    table: dict[str, CompiledLocation] = {}
    ordered = sorted(locations, key=lambda c: c.defn.id)
    for loc in ordered:
        table.setdefault(f"id:{loc.defn.id}", loc)
        table.setdefault(f"key:{key(loc.defn.id)}", loc)
    for loc in ordered:
        table.setdefault(f"key:{key(loc.defn.name)}", loc)
    return table


def _preferred(facts: LeadFacts, table: Mapping[str, CompiledLocation]) -> CompiledLocation | None:
    wanted = (facts.preferred_location or "").strip()
    if not wanted or not words(wanted):
        return None
    return table.get(f"id:{wanted}") or table.get(f"key:{key(wanted)}")


def in_service_area(
    loc: CompiledLocation, distance: float | None, lead_zip: str | None
) -> bool | None:
    radius = loc.defn.service_radius_miles
    if radius is None and loc.zips is None:
        return True
    if loc.zips is not None and lead_zip is not None and lead_zip in loc.zips:
        return True
    if radius is not None and distance is not None and distance <= radius + _EDGE_EPSILON_MILES:
        return True
    zip_unknown = loc.zips is not None and lead_zip is None
    radius_unknown = radius is not None and distance is None
    if zip_unknown or radius_unknown:
        return None
    return False


def _zip_served(loc: CompiledLocation, lead_zip: str) -> bool:
    return (loc.zips is not None and lead_zip in loc.zips) or zip5(loc.defn.postal_code) == lead_zip


def _lead_point(facts: LeadFacts) -> tuple[float, float] | None:
    if facts.latitude is None or facts.longitude is None:
        return None
    if not valid_point(facts.latitude, facts.longitude):
        return None
    return facts.latitude, facts.longitude


def _distance(point: tuple[float, float] | None, loc: CompiledLocation) -> float | None:
    if point is None:
        return None
    return haversine_miles(point[0], point[1], loc.defn.latitude, loc.defn.longitude)


def _match(
    facts: LeadFacts, loc: CompiledLocation, service_key: str | None, method: str
) -> LocationMatch:
    distance = _distance(_lead_point(facts), loc)
    return LocationMatch(
        location_id=loc.defn.id,
        name=loc.defn.name,
        distance_miles=None if distance is None else round(distance, 2),
        in_service_area=in_service_area(loc, distance, zip5(facts.postal_code)),
        method="nearest" if method not in ("preferred", "earliest_available") else method,  # type: ignore[arg-type]
        offers_service=None if service_key is None else service_key in loc.service_keys,
    )


def choose_location(
    facts: LeadFacts,
    service_key: str | None,
    locations: tuple[CompiledLocation, ...],
    table: Mapping[str, CompiledLocation],
) -> tuple[LocationMatch, CompiledLocation | None]:
    """Preferred location if it names a real one; else the nearest offering the service.

    Among offering locations, one whose service area covers the lead beats a nearer
    one that does not (matters for ZIP-list areas); then distance; then id.
    """
    preferred = _preferred(facts, table)
    if preferred is not None:
        return _match(facts, preferred, service_key, "preferred"), preferred
    candidates = [
        loc for loc in locations if service_key is None or service_key in loc.service_keys
    ]
    if not candidates:
        return LocationMatch(None, offers_service=False if service_key else None), None
    lead_zip = zip5(facts.postal_code)
    point = _lead_point(facts)
    ranked: list[tuple[bool, float, str, CompiledLocation]] = []
    if point is not None:
        phi, lam = math.radians(point[0]), math.radians(point[1])
        cos_phi = math.cos(phi)
        for loc in candidates:
            distance = haversine_radians(phi, lam, cos_phi, loc.phi, loc.lam)
            covered = in_service_area(loc, distance, lead_zip) is True
            ranked.append((not covered, distance, loc.defn.id, loc))
    if not ranked:
        # No coordinates: a location listing the lead's ZIP (or sitting in it) still serves.
        by_zip = [c for c in candidates if lead_zip and _zip_served(c, lead_zip)]
        if not by_zip:
            return LocationMatch(None, offers_service=True if service_key else None), None
        best_by_zip = min(by_zip, key=lambda c: c.defn.id)
        return _match(facts, best_by_zip, service_key, "nearest"), best_by_zip
    best = min(ranked, key=lambda r: r[:3])[3]
    return _match(facts, best, service_key, "nearest"), best


def _candidates(
    facts: LeadFacts,
    service_key: str,
    locations: tuple[CompiledLocation, ...],
    max_miles: float | None,
) -> list[tuple[float | None, CompiledLocation]]:
    """The locations that offer the service and may see the lead, with their distance."""
    lead_zip = zip5(facts.postal_code)
    point = _lead_point(facts)
    out: list[tuple[float | None, CompiledLocation]] = []
    for loc in locations:
        if service_key not in loc.service_keys:
            continue
        if point is None:
            if lead_zip and _zip_served(loc, lead_zip):
                out.append((None, loc))
            continue
        distance = _distance(point, loc)
        if in_service_area(loc, distance, lead_zip) is not True:
            continue
        if (
            max_miles is not None
            and distance is not None
            and distance > max_miles + _EDGE_EPSILON_MILES
        ):
            continue
        out.append((distance, loc))
    return out


def choose_by_availability(
    facts: LeadFacts,
    service_key: str,
    locations: tuple[CompiledLocation, ...],
    table: Mapping[str, CompiledLocation],
    book: SlotBook,
    win: Window,
    settings: ScoringSettings,
) -> tuple[LocationMatch, CompiledLocation | None, Choice]:
    """The location by its earliest fitting free slot (or kept nearest / preferred, reading
    its slots for the offer). Without a slot anywhere, the usual choice stands."""
    usual, usual_loc = choose_location(facts, service_key, locations, table)
    preferred = usual_loc is not None and usual.method == "preferred"
    by_availability = settings.location_preference == "earliest_available" and not preferred
    pairs = _candidates(facts, service_key, locations, settings.availability_max_miles)
    if usual_loc is not None and not by_availability:
        # The kept location first: `choose` reads its slots for the offer.
        pairs = [
            (usual.distance_miles, usual_loc),
            *((d, c) for d, c in pairs if c is not usual_loc),
        ]
    cands = [
        Candidate(c.defn.id, c.defn.name, None if d is None else round(d, 2), c.defn.time_zone)
        for d, c in pairs
    ]
    choice = choose(cands, book, win, by_availability=by_availability)
    if not by_availability or choice.location_id is None:
        return usual, usual_loc, choice
    chosen = table[f"id:{choice.location_id}"]
    match = _match(facts, chosen, service_key, "earliest_available")
    return match, chosen, choice
