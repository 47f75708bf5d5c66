"""Urgency and red-flag detection.

Red flags match exactly (after case, punctuation and apostrophe folding): a typo
tolerance that turns "chest pains" into a flag is welcome, one that turns
"best pain relief" into one is not, so only plural folding is forgiven.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType

from app.scoring.definitions import (
    URGENCY_RANK,
    LeadFacts,
    ScoringSettings,
    ServiceDef,
    Urgency,
    UrgencyResult,
)
from app.scoring.text import Clauses, PhraseEntry, PhraseIndex, build_index, key, tokens

EMERGENCY_INSTRUCTION = "If this is a medical emergency, call 911 now."
CRISIS_INSTRUCTION = (
    "If you are thinking about suicide or self-harm, call or text 988 "
    "(Suicide & Crisis Lifeline) now, or 911."
)

DEFAULT_RED_FLAGS: tuple[str, ...] = (
    "chest pain",
    "chest pressure",
    "can't breathe",
    "cant breath",
    "cannot breathe",
    "can not breathe",
    "trouble breathing",
    "difficulty breathing",
    "hard to breathe",
    "shortness of breath",
    "short of breath",
    "suicidal",
    "suicide",
    "kill myself",
    "end my life",
    "want to die",
    "self-harm",
    "selfharm",
    "hurt myself",
    "stroke",
    "face drooping",
    "slurred speech",
    "severe bleeding",
    "bleeding heavily",
    "won't stop bleeding",
    "unconscious",
    "unresponsive",
    "passed out",
    "seizure",
    "overdose",
    "overdosed",
)
_CRISIS_KEYS = ("kill myself", "end my life", "want to die", "self harm", "selfharm", "hurt myself")

DEFAULT_URGENCY_PHRASES: Mapping[str, Urgency] = MappingProxyType(
    {
        "as soon as possible": "urgent",
        "asap": "urgent",
        "right away": "urgent",
        "immediately": "urgent",
        # Weak alone ("saw your ad today"), so it only nudges.
        "today": "soon",
        "unbearable": "urgent",
        "severe pain": "urgent",
        "can't walk": "urgent",
        "cannot walk": "urgent",
        "can't bear weight": "urgent",
        "urgent": "urgent",
        "this week": "soon",
        "tomorrow": "soon",
        "next few days": "soon",
        "soon": "soon",
        "getting worse": "soon",
        "worsening": "soon",
    }
)

_FIELD_LEVELS: Mapping[str, Urgency] = MappingProxyType(
    {
        "routine": "routine",
        "low": "routine",
        "normal": "routine",
        "non urgent": "routine",
        "soon": "soon",
        "medium": "soon",
        "moderate": "soon",
        "semi urgent": "soon",
        "urgent": "urgent",
        "high": "urgent",
        "asap": "urgent",
        "emergency": "emergency",
        "emergent": "emergency",
        "critical": "emergency",
    }
)

_TIMEFRAME_LEVELS: Mapping[str, Urgency] = MappingProxyType(
    {
        "asap": "urgent",
        "as soon as possible": "urgent",
        "immediately": "urgent",
        "now": "urgent",
        "today": "urgent",
        "same day": "urgent",
        "within 24 hours": "urgent",
        "tomorrow": "soon",
        "this week": "soon",
        "within a week": "soon",
        "next few days": "soon",
        "within 48 hours": "soon",
        "next week": "routine",
        "this month": "routine",
        "next month": "routine",
        "within a month": "routine",
        "flexible": "routine",
        "no rush": "routine",
        "routine": "routine",
        "anytime": "routine",
    }
)


def is_crisis_phrase(phrase: str) -> bool:
    folded = key(phrase)
    return any(t.startswith("suicid") for t in folded.split()) or any(
        k in folded for k in _CRISIS_KEYS
    )


def build_red_flag_index(services: Iterable[ServiceDef], settings: ScoringSettings) -> PhraseIndex:
    # Every service's red flags apply to every lead: safety must not depend on matching.
    phrases = [*DEFAULT_RED_FLAGS, *settings.red_flag_phrases]
    for service in services:
        phrases.extend(service.red_flag_phrases)
    entries = (
        PhraseEntry(p, tokens(p), "crisis" if is_crisis_phrase(p) else "medical") for p in phrases
    )
    return build_index(entries, fuzzy=False)


def build_urgency_index(services: Iterable[ServiceDef]) -> PhraseIndex:
    entries = [PhraseEntry(p, tokens(p), level) for p, level in DEFAULT_URGENCY_PHRASES.items()]
    for service in services:
        entries.extend(PhraseEntry(p, tokens(p), "urgent") for p in service.urgency_phrases)
    return build_index(entries, fuzzy=False)


def _raise(current: Urgency, candidate: Urgency) -> Urgency:
    return candidate if URGENCY_RANK[candidate] > URGENCY_RANK[current] else current


def _first_per_phrase(hits: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    seen: set[str] = set()
    ordered: list[tuple[str, str]] = []
    for phrase, tag in hits:
        if phrase not in seen:
            seen.add(phrase)
            ordered.append((phrase, tag))
    return ordered


def assess_urgency(
    facts: LeadFacts, text: Clauses, red_flags: PhraseIndex, phrases: PhraseIndex
) -> UrgencyResult:
    level: Urgency = "routine"
    evidence: list[str] = []
    field_level = _FIELD_LEVELS.get(key(facts.urgency_field or ""))
    if field_level:
        level = _raise(level, field_level)
        evidence.append(f"urgency field '{facts.urgency_field}' → {field_level}")
    frame_level = _TIMEFRAME_LEVELS.get(key(facts.requested_timeframe or ""))
    if frame_level:
        level = _raise(level, frame_level)
        evidence.append(f"requested timeframe '{facts.requested_timeframe}' → {frame_level}")
    phrase_hits = sorted(phrases.find(text, skip_negated=True), key=lambda h: (h.clause, h.start))
    for phrase, tag in _first_per_phrase((h.entry.phrase, h.entry.tag) for h in phrase_hits):
        level = _raise(level, _FIELD_LEVELS.get(tag, "urgent"))
        evidence.append(f"phrase '{phrase}' → {tag}")
    flag_hits = sorted(red_flags.find(text, skip_negated=True), key=lambda h: (h.clause, h.start))
    flags = _first_per_phrase((h.entry.phrase, h.entry.tag) for h in flag_hits)
    evidence.extend(f"red flag '{phrase}' → emergency" for phrase, _ in flags)
    emergency = bool(flags) or level == "emergency"
    return UrgencyResult(
        level="emergency" if emergency else level,
        emergency=emergency,
        red_flags=tuple(phrase for phrase, _ in flags),
        safety_instruction=_instruction(emergency, {tag for _, tag in flags}),
        evidence=tuple(evidence),
    )


def _instruction(emergency: bool, kinds: set[str]) -> str | None:
    if not emergency:
        return None
    if kinds == {"crisis"}:
        return CRISIS_INSTRUCTION
    if "crisis" in kinds:
        return f"{EMERGENCY_INSTRUCTION} {CRISIS_INSTRUCTION}"
    return EMERGENCY_INSTRUCTION
