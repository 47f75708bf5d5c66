"""Is a matched symptom happening to this person now? ConText-style cues, English and Spanish.

After NegEx/ConText (Chapman et al.): a cue changes the status of a concept within its scope,
the tokens of the same clause up to a window, and a terminator ends that scope early. The
statuses, the first that applies wins:

- negated: "no chest pain", "denies", "ruled out", "sin", "nunca", "ya no", "... went away";
- historical: "years ago", "history of", "in 2015", "as a kid", "hace años", "de niño";
- hypothetical: "risk of", "prevention", "what are the signs of", "seizure medication";
- other: someone else's past ("my father had", "mi mamá murió de", "runs in my family").

Someone else in the present ("my wife is turning blue") is affirmed: a caller reporting an
emergency is the usual case. When in doubt the concept stays affirmed: a missed emergency costs
far more than a nurse reading a false alarm.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from app.scoring.patterns import Match, PatternSet, Tokens

Status = Literal["affirmed", "negated", "historical", "hypothetical", "other"]

NEG_WINDOW = 5
POST_WINDOW = 3
HIST_WINDOW = 8
HYPO_WINDOW = 5
CURRENT_WINDOW = 4

# fmt: off
_CUES: dict[str, tuple[str, ...]] = {
    "neg_pre": (
        "no", "not", "denies", "denied", "deny", "denying", "without", "never", "negative",
        "nor", "dont", "doesnt", "didnt", "isnt", "wasnt", "havent", "hasnt", "hadnt", "arent",
        "ruled ~1 out", "rule ~1 out", "no longer", "free of", "absence of", "resolved",
        "sin", "nunca", "niega", "niego", "negó", "ni", "jamas", "tampoco", "descart*",
        "ya no", "ningun", "ninguna", "se me quito", "se le quito", "se me paso",
    ),
    "neg_post": (
        "ruled out", "resolved", "went away", "is gone", "gone", "stopped", "negative",
        "better now", "descartad*", "se quito", "ya paso", "ya paro", "se fue",
    ),
    # Words that look like cues but are not: they cancel a cue they overlap.
    "pseudo": (
        "not sure", "not certain", "no idea", "not just", "not only", "no doubt", "no one",
        "nobody", "no se si", "sin duda", "never ~1 wake", "never ~1 woke", "ever ~1 had",
        "ever ~1 felt", "ever ~1 tenido", "at ~1 once", "no ~1 aguanto|soporto ~1 mas",
        "ya ~1 no ~1 aguanto|puedo",
    ),
    "term": (
        "and", "now", "then", "still", "suddenly", "just", "only", "but", "since", "because",
        "y", "ahora", "pero", "solo", "porque", "de repente", "todavia",
    ),
    "hist": (
        "years ago", "year ago", "months ago", "month ago", "weeks ago", "last year",
        "last month", "last week", "in the past", "as a child", "as a kid", "as a teen*",
        "as a toddler", "as a baby", "when i was", "when he was", "when she was", "history",
        "hx", "previous", "previously", "prior", "used to", "back in", "in <year>", "once",
        "in college", "in high school", "in childhood", "since childhood", "survivor",
        "hace anos", "hace ano", "hace meses", "hace tiempo", "hace mucho", "hace semanas",
        "hace <num> anos|meses|semanas", "hace dos|tres|cuatro|cinco|diez anos|meses",
        "el ano pasado", "el mes pasado", "de nino|nina|chico|chica|joven|bebe",
        "cuando era", "antecedentes", "historia", "historial", "en <year>",
        "anteriormente", "solia", "una vez",
    ),
    "hist_term": (
        "now", "currently", "today", "tonight", "again", "still", "right now", "this morning",
        "ahora", "ahorita", "hoy", "otra vez", "de nuevo", "todavia", "actualmente",
    ),
    "hypo_pre": (
        "risk", "at risk", "risk of", "prevent*", "prevencion", "screening", "screen for",
        "in case", "what are", "signs of", "what if", "what to do", "learn about", "class",
        "course", "training", "seminar", "awareness", "education", "riesgo", "en caso",
        "por si", "cuales son", "sintomas de", "que hacer", "clase", "curso", "medicine for",
        "medication for", "meds for", "medicina para", "medicamento para",
        "pastillas para",
    ),
    "hypo_post": (
        "medication", "medications", "meds", "medicine", "refill", "rehab*", "recovery",
        "survivor", "therapy", "clinic", "doctor", "specialist", "disorder", "prevention",
        "risk", "screening", "awareness", "support", "group", "follow", "followup",
        "prescription", "class", "free", "medicamento*", "medicina", "terapia",
        "rehabilitacion", "receta", "seguimiento", "especialista", "prevencion", "riesgo",
    ),
    "other": (
        "father", "dad", "daddy", "mother", "mom", "moms", "mum", "mother", "parents",
        "grandma", "grandpa", "grandmother", "grandfather", "grandparents", "uncle", "aunt",
        "cousin", "brother", "sister", "sibling*", "husband", "wife", "spouse", "friend",
        "relative*", "padre", "papa", "madre", "mama", "abuelo", "abuela", "abuelos", "tio",
        "tia", "primo", "prima", "hermano", "hermana", "esposo", "esposa", "amigo", "amiga",
        "padres", "pariente*",
    ),
    "past": (
        "had", "died", "passed", "suffered", "committed", "survived", "tuvo", "tuvieron",
        "murio", "murieron", "fallecio", "sufrio", "tenia", "se suicido",
    ),
    "current": (
        "now", "just", "right now", "is", "currently", "today", "tonight", "this morning",
        "ahora", "ahorita", "acaba", "hoy", "esta manana", "anoche", "en este momento",
    ),
    "family_hx": (
        "family history", "family hx", "runs in", "en mi familia", "antecedentes familiares",
        "hereditary", "genetic", "hereditari*",
    ),
}
# fmt: on

_KINDS = tuple(_CUES)
_CUE_SET = PatternSet(
    ((p, _KINDS.index(kind)) for kind, pats in _CUES.items() for p in pats), fuzzy=False
)


@dataclass(frozen=True, slots=True)
class _Cue:
    kind: str
    start: int
    end: int


def _cues(clause: Tokens) -> list[_Cue]:
    found = [_Cue(_KINDS[m.tag], m.start, m.end) for m in _CUE_SET.find((clause,))]
    pseudo = [c for c in found if c.kind == "pseudo"]
    return [
        c
        for c in found
        if c.kind == "pseudo"
        or not any(p.start <= c.start < p.end or c.start <= p.start < c.end for p in pseudo)
    ]


def _blocked(cues: Sequence[_Cue], kind: str, lo: int, hi: int) -> bool:
    """A terminator of `kind` lies wholly between positions lo and hi."""
    return any(c.kind == kind and lo <= c.start and c.end <= hi for c in cues)


def _before(cues: Sequence[_Cue], kind: str, m: Match, window: int, term: str) -> bool:
    return any(
        c.kind == kind
        and c.end <= m.start
        and m.start - c.end <= window
        and not _blocked(cues, term, c.end, m.start)
        for c in cues
    )


def _after(cues: Sequence[_Cue], kind: str, m: Match, window: int, term: str) -> bool:
    return any(
        c.kind == kind
        and c.start >= m.end
        and c.start - m.end <= window
        and not _blocked(cues, term, m.end, c.start)
        for c in cues
    )


def _near(cues: Sequence[_Cue], kind: str, m: Match, window: int, term: str) -> bool:
    return _before(cues, kind, m, window, term) or _after(cues, kind, m, window, term)


def _someone_elses_past(cues: Sequence[_Cue], m: Match) -> bool:
    if any(c.kind == "family_hx" for c in cues):
        return True
    other = any(c.kind == "other" and c.end <= m.start for c in cues)
    # "my father had a heart attack", not "my wife had a seizure and still isn't waking up"
    past = _before(cues, "past", m, HIST_WINDOW, "term")
    return other and past and not _near(cues, "current", m, CURRENT_WINDOW, "term")


def status(clause: Tokens, m: Match) -> Status:
    """The status of one match inside its clause."""
    cues = _cues(clause)
    if not cues:
        return "affirmed"
    if _before(cues, "neg_pre", m, NEG_WINDOW, "term") or _after(
        cues, "neg_post", m, POST_WINDOW, "term"
    ):
        return "negated"
    if _near(cues, "hist", m, HIST_WINDOW, "hist_term"):
        return "historical"
    if _before(cues, "hypo_pre", m, HYPO_WINDOW, "term") or _after(cues, "hypo_post", m, 1, "term"):
        return "hypothetical"
    if _someone_elses_past(cues, m):
        return "other"
    return "affirmed"
