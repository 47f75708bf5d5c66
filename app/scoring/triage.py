"""Triage: which concepts does a person's text affirm, and what should they be told?

`Triage` compiles the built-in concepts (app.scoring.concepts) with an organisation's own
concepts and phrases once per practice; `detect` is pure and fast (a token lookup per word,
pattern walks only from matching words, context only for clauses that matched).

A hit names its concept and the words that triggered it, and nothing more of the text: the
words are the matched tokens only, with "…" where the pattern skipped some.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from app.scoring import context
from app.scoring.concepts import BLOCKERS, CRISES, EMERGENCIES, URGENCY, ConceptDef, Level
from app.scoring.patterns import Match, PatternSet, Tokens, squeeze
from app.scoring.text import Clauses, words

BUILT_IN: tuple[ConceptDef, ...] = (*EMERGENCIES, *CRISES, *URGENCY)
BUILT_IN_CODES = frozenset(d.code for d in BUILT_IN)
ORG_PHRASE = "custom.red_flag"
ORG_CRISIS_PHRASE = "custom.crisis"
SERVICE_URGENCY_PHRASE = "custom.urgency"

LEVEL_RANK: Mapping[Level, int] = MappingProxyType(
    {"soon": 1, "urgent": 2, "emergency": 3, "crisis": 3}
)

# fmt: off
_SPANISH = frozenset((
    "de", "el", "la", "los", "las", "que", "y", "mi", "me", "con", "por", "para", "es", "muy",
    "tengo", "tiene", "esta", "estoy", "un", "una", "del", "se", "le", "su", "al", "lo", "pero",
    "dolor", "quiero", "hijo", "hija", "esposo", "esposa", "mama", "papa", "bebe", "puedo",
    "puede", "cuando", "desde", "hace", "tuve", "ya", "mucho", "nada",
))
_ENGLISH = frozenset((
    "the", "and", "my", "is", "i", "im", "to", "of", "a", "with", "for", "have", "has", "in",
    "on", "it", "he", "she", "this", "not", "can", "cant", "want", "pain", "been", "had", "was",
    "need", "when", "his", "her", "just", "after", "since", "like", "get",
))
# fmt: on
_CRISIS_WORDS = (
    "suicid",
    "kill myself",
    "end my life",
    "want to die",
    "self harm",
    "selfharm",
    "hurt myself",
    "matarme",
    "morir",
    "quitarme la vida",
)


@dataclass(frozen=True, slots=True)
class TriageHit:
    code: str
    level: Level
    words: str
    clause: int
    start: int

    @property
    def category(self) -> str:
        return self.code.split(".", 1)[0]


def phrase_pattern(phrase: str) -> str | None:
    """An organisation's exact phrase as a pattern; plurals are forgiven, nothing else."""
    toks = [squeeze(w) for w in words(phrase)]
    if not toks:
        return None
    alts = []
    for w in toks:
        forms = {w, w + "s", w + "es"} | ({w[:-1]} if len(w) > 3 and w.endswith("s") else set())
        alts.append("|".join(sorted(forms)))
    return " ".join(alts)


def is_crisis_phrase(phrase: str) -> bool:
    folded = " ".join(words(phrase))
    return any(w in folded for w in _CRISIS_WORDS)


def phrase_concepts(phrases: Iterable[str], code: str, level: Level) -> tuple[ConceptDef, ...]:
    out = []
    for phrase in phrases:
        pattern = phrase_pattern(phrase)
        if pattern is None:
            continue
        crisis = level == "emergency" and is_crisis_phrase(phrase)
        out.append(
            ConceptDef(
                ORG_CRISIS_PHRASE if crisis else code, "crisis" if crisis else level, (pattern,)
            )
        )
    return tuple(out)


def check_pattern(pattern: str) -> str | None:
    """Why an organisation's pattern cannot be used, or None."""
    try:
        PatternSet(((pattern, 0),))
    except (ValueError, KeyError) as exc:
        return str(exc) or "invalid pattern"
    return None


class Triage:
    """The compiled concepts of one practice (built-in first, then its own)."""

    def __init__(self, extra: Iterable[ConceptDef] = ()) -> None:
        self.defs: tuple[ConceptDef, ...] = (*BUILT_IN, *extra)
        n = len(self.defs)
        tagged = [(p, i) for i, d in enumerate(self.defs) for p in d.patterns]
        tagged += [(p, n + i) for i, p in enumerate(BLOCKERS)]
        self._set = PatternSet(tagged)
        self._with = {
            i: PatternSet((p, 0) for p in d.with_) for i, d in enumerate(self.defs) if d.with_
        }
        self._unless = {
            i: PatternSet((p, 0) for p in d.unless) for i, d in enumerate(self.defs) if d.unless
        }

    def detect(self, text: Clauses) -> list[TriageHit]:
        """Affirmed concepts, the first hit of each, in the order the text names them."""
        found = self._set.find(text)
        n = len(self.defs)
        blocks = [m for m in found if m.tag >= n]
        matches = sorted((m for m in found if m.tag < n), key=lambda m: (m.clause, m.start, m.tag))
        hits: list[TriageHit] = []
        seen: set[str] = set()
        with_cache: dict[int, bool] = {}
        for m in matches:
            d = self.defs[m.tag]
            if d.code in seen or _overlaps(m, blocks):
                continue
            if not self._applies(m, text, with_cache):
                continue
            if context.status(text[m.clause], m) != "affirmed":
                continue
            seen.add(d.code)
            # "crushing chest pain" matches twice, overlapping: name all of its words.
            same = [
                o.positions
                for o in matches
                if self.defs[o.tag].code == d.code
                and o.clause == m.clause
                and o.start < m.end
                and m.start < o.end
            ]
            positions = sorted({p for ps in same for p in ps})
            hits.append(
                TriageHit(d.code, d.level, _words(text[m.clause], positions), m.clause, m.start)
            )
        return hits

    def _applies(self, m: Match, text: Clauses, with_cache: dict[int, bool]) -> bool:
        if m.tag in self._with:
            if m.tag not in with_cache:
                with_cache[m.tag] = bool(self._with[m.tag].find(text))
            if not with_cache[m.tag]:
                return False
        unless = self._unless.get(m.tag)
        return unless is None or not unless.find((text[m.clause],))


def _overlaps(m: Match, blocks: Sequence[Match]) -> bool:
    return any(b.clause == m.clause and b.start < m.end and m.start < b.end for b in blocks)


def _words(clause: Tokens, positions: Sequence[int]) -> str:
    parts: list[str] = []
    prev = None
    for p in positions:
        if prev is not None and p != prev + 1:
            parts.append("…")
        parts.append(clause[p])
        prev = p
    return " ".join(parts)


def language(text: Clauses, declared: str | None) -> str:
    """ "es" when the lead says Spanish or the text reads as Spanish, else "en"."""
    tag = " ".join(words(declared or ""))
    if tag.startswith(("es", "spa", "espanol")):
        return "es"
    es = en = 0
    for clause in text:
        for tok in clause:
            es += tok in _SPANISH
            en += tok in _ENGLISH
    return "es" if es > en else "en"
