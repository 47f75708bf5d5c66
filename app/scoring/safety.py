"""Urgency and the safety instruction, from the lead's fields and the triage concepts.

The built-in concepts (app.scoring.concepts) always apply; an organisation's red-flag phrases
and concepts, and its services' red-flag and urgency phrases, are added to them, so no setting
can weaken the built-in screening. Every service's red flags apply to every lead: safety must
not depend on which service matched.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType

from app.scoring.concepts import ConceptDef
from app.scoring.definitions import (
    URGENCY_RANK,
    LeadFacts,
    ScoringSettings,
    ServiceDef,
    Urgency,
    UrgencyResult,
)
from app.scoring.text import Clauses, key
from app.scoring.triage import (
    ORG_PHRASE,
    SERVICE_URGENCY_PHRASE,
    Triage,
    TriageHit,
    language,
    phrase_concepts,
)

EMERGENCY_INSTRUCTION = "If this is a medical emergency, call 911 now."
CRISIS_INSTRUCTION = (
    "If you are thinking about suicide or self-harm, call or text 988 "
    "(Suicide & Crisis Lifeline) now, or 911. En español: llame al 988 y oprima 2."
)
EMERGENCY_INSTRUCTION_ES = "Si se trata de una emergencia médica, llame al 911 ahora."
CRISIS_INSTRUCTION_ES = (
    "Si está pensando en el suicidio o en hacerse daño, llame al 988 y oprima 2 para recibir "
    "ayuda en español, o envíe AYUDA por mensaje de texto al 988 (Línea de Prevención del "
    "Suicidio y Crisis), o llame al 911."
)
_INSTRUCTIONS = {
    "en": (EMERGENCY_INSTRUCTION, CRISIS_INSTRUCTION),
    "es": (EMERGENCY_INSTRUCTION_ES, CRISIS_INSTRUCTION_ES),
}

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


def build_triage(services: Iterable[ServiceDef], settings: ScoringSettings) -> Triage:
    services = tuple(services)
    red_flags = [*settings.red_flag_phrases, *(p for s in services for p in s.red_flag_phrases)]
    urgent = [p for s in services for p in s.urgency_phrases]
    extra: list[ConceptDef] = [
        *settings.red_flag_concepts,
        *phrase_concepts(red_flags, ORG_PHRASE, "emergency"),
        *phrase_concepts(urgent, SERVICE_URGENCY_PHRASE, "urgent"),
    ]
    return Triage(extra)


def _raise(current: Urgency, candidate: Urgency) -> Urgency:
    return candidate if URGENCY_RANK[candidate] > URGENCY_RANK[current] else current


def assess_urgency(facts: LeadFacts, text: Clauses, triage: Triage) -> UrgencyResult:
    """`text` is the raw (unstemmed) clauses of the service and reason texts."""
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
    hits = triage.detect(text) if text else []
    flags: list[TriageHit] = []
    for hit in hits:
        if hit.level in ("emergency", "crisis"):
            flags.append(hit)
        elif hit.level in ("urgent", "soon"):
            level = _raise(level, "urgent" if hit.level == "urgent" else "soon")
        # Codes only: this evidence is stored in the clear; the words are kept encrypted.
        shown = "emergency" if hit.level == "crisis" else hit.level
        evidence.append(f"concept {hit.code} → {shown}")
    emergency = bool(flags) or level == "emergency"
    lang = language(text, facts.language)
    return UrgencyResult(
        level="emergency" if emergency else level,
        emergency=emergency,
        red_flags=tuple(h.code for h in flags),
        safety_instruction=instruction(emergency, {h.level for h in flags}, lang),
        evidence=tuple(evidence),
        concepts=tuple(hits),
        language=lang,
    )


def instruction(emergency: bool, kinds: set[str], lang: str = "en") -> str | None:
    if not emergency:
        return None
    medical, crisis = _INSTRUCTIONS.get(lang, _INSTRUCTIONS["en"])
    if kinds == {"crisis"}:
        return crisis
    if "crisis" in kinds:
        return f"{medical} {crisis}"
    return medical
