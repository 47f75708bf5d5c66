"""Normalisation and phrase finding shared by service, urgency and red-flag detection.

Text is split into clauses first: phrases never span punctuation or "but", and a
negation only reaches forward inside its own clause ("no fever, chest pain" still
flags chest pain). When in doubt the matcher errs towards flagging, because a
missed emergency costs far more than a nurse reading a false alarm.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from rapidfuzz import process
from rapidfuzz.distance import OSA

_APOSTROPHES = re.compile(r"['\u2018\u2019`\u00b4]")
_NON_WORD = re.compile(r"[\W_]+")
_DOUBLED = re.compile(r"(.)\1+")
_CLAUSE_BREAK = re.compile(
    r"[.,;:!?()\[\]\n\r]+|\b(?:but|however|although|though|except|yet|pero|aunque|sino)\b",
)

NEGATION_CUES = frozenset(
    {"no", "not", "denies", "denied", "deny", "denying", "without", "never", "negative", "nor"}
)
# Contractions ("don't", "can't") are deliberately not cues: they occur inside true
# positives such as "can't breathe" or "I don't want to live".
# "no puedo dormir" is "can't sleep": the Spanish "no" before these verbs is not a denial.
_PSEUDO_NEGATION_NEXT = frozenset(
    {"sure", "certain", "only", "just", "puedo", "puede", "podia", "duermo", "logro", "consigo"}
)
_NEGATION_TERMINATORS = frozenset({"and", "now", "then", "still", "suddenly"})
NEGATION_WINDOW = 4

FUZZY_MIN_PHRASE_TOKEN = 4
FUZZY_MIN_TEXT_TOKEN = 3
_MAX_EDITS_CUTOFF = 2

Clauses = tuple[tuple[str, ...], ...]


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _APOSTROPHES.sub("", stripped.casefold())


def stem(token: str) -> str:
    # Only plurals: enough for "knees"/"injuries" without a stemmer's surprises.
    if len(token) > 4 and token.endswith("ies"):
        return token[:-3] + "y"
    if len(token) > 3 and token.endswith("s") and not token.endswith(("ss", "us", "is")):
        return token[:-1]
    return token


def words(text: str) -> tuple[str, ...]:
    """Unstemmed tokens: for codes, names and identifiers compared as keys."""
    return tuple(_NON_WORD.sub(" ", _fold(text)).split())


def key(text: str) -> str:
    return " ".join(words(text))


def tokens(text: str) -> tuple[str, ...]:
    return tuple(stem(t) for t in words(text))


def raw_clauses(text: str | None) -> Clauses:
    """Folded, unstemmed tokens per clause: what the triage patterns read."""
    if not text:
        return ()
    parts = _CLAUSE_BREAK.split(_fold(text))
    found = (tuple(_NON_WORD.sub(" ", part).split()) for part in parts)
    return tuple(c for c in found if c)


def stemmed(raw: Clauses) -> Clauses:
    return tuple(tuple(stem(t) for t in clause) for clause in raw)


def clauses(text: str | None) -> Clauses:
    return stemmed(raw_clauses(text))


def contains_sequence(haystack: Sequence[str], needle: Sequence[str]) -> bool:
    n = len(needle)
    if n == 0:
        return False
    return any(tuple(haystack[i : i + n]) == tuple(needle) for i in range(len(haystack) - n + 1))


def max_edits(phrase_token: str) -> int:
    if len(phrase_token) < FUZZY_MIN_PHRASE_TOKEN:
        return 0
    return 2 if len(phrase_token) >= 8 else 1


def negated(clause: Sequence[str], start: int) -> bool:
    lowest = max(0, start - NEGATION_WINDOW)
    for i in range(start - 1, lowest - 1, -1):
        tok = clause[i]
        if tok in _NEGATION_TERMINATORS:
            return False
        if tok in NEGATION_CUES:
            nxt = clause[i + 1] if i + 1 < len(clause) else ""
            if nxt not in _PSEUDO_NEGATION_NEXT:
                return True
    return False


@dataclass(frozen=True, slots=True)
class PhraseEntry:
    phrase: str
    tokens: tuple[str, ...]
    tag: str


@dataclass(frozen=True, slots=True)
class PhraseHit:
    entry: PhraseEntry
    matched_text: str
    similarity: float
    clause: int
    start: int

    @property
    def exact(self) -> bool:
        return self.similarity == 1.0


@dataclass(slots=True)
class _Node:
    children: dict[str, _Node] = field(default_factory=dict)
    ends: list[PhraseEntry] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class PhraseIndex:
    """A token trie of phrases; fuzzy candidates are bucketed by initial letter.

    Walking the trie from each text position only follows prefixes that match, so
    cost grows with matching phrases, not with the size of the vocabulary.
    """

    root: _Node
    fuzzy: bool
    vocab_by_initial: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def find(self, text: Clauses, *, skip_negated: bool = False) -> list[PhraseHit]:
        hits: list[PhraseHit] = []
        cache: dict[str, dict[str, float]] = {}
        for ci, clause in enumerate(text):
            cands = [self._candidates(tok, cache) for tok in clause]
            starts = self.root.children
            for start in range(len(clause)):
                if not any(tok in starts for tok in cands[start]):
                    continue
                if skip_negated and negated(clause, start):
                    continue
                hits.extend(_walk(self.root, clause, cands, ci, start))
        return hits

    def _candidates(self, tok: str, cache: dict[str, dict[str, float]]) -> dict[str, float]:
        found = cache.get(tok)
        if found is not None:
            return found
        found = {tok: 1.0}
        if self.fuzzy and len(tok) >= FUZZY_MIN_TEXT_TOKEN:
            bucket = self.vocab_by_initial.get(tok[0], ())
            for cand, dist, _ in process.extract(
                tok, bucket, scorer=OSA.distance, score_cutoff=_MAX_EDITS_CUTOFF, limit=None
            ):
                if _is_typo(tok, cand, int(dist)):
                    found[cand] = 1.0 - dist / max(len(cand), len(tok))
        cache[tok] = found
        return found


def _is_typo(tok: str, cand: str, dist: int) -> bool:
    if dist == 0 or dist > max_edits(cand):
        return False
    if _DOUBLED.sub(r"\1", tok) == _DOUBLED.sub(r"\1", cand):
        return True  # a doubled letter, the commonest slip: "kneee", "snorring"
    # A complete word plus a suffix is another word ("kneel", "painting"), not a typo.
    return not (len(tok) > len(cand) and tok.startswith(cand))


def _walk(
    root: _Node,
    clause: Sequence[str],
    cands: Sequence[dict[str, float]],
    ci: int,
    start: int,
) -> list[PhraseHit]:
    hits: list[PhraseHit] = []
    stack: list[tuple[_Node, int, float]] = [(root, start, 0.0)]
    while stack:
        node, pos, total = stack.pop()
        depth = pos - start
        for entry in node.ends:
            matched = " ".join(clause[start:pos])
            hits.append(PhraseHit(entry, matched, round(total / depth, 4), ci, start))
        if pos >= len(clause) or not node.children:
            continue
        for tok, sim in cands[pos].items():
            child = node.children.get(tok)
            if child is not None:
                stack.append((child, pos + 1, total + sim))
    return hits


def build_index(entries: Iterable[PhraseEntry], *, fuzzy: bool) -> PhraseIndex:
    root = _Node()
    seen: set[tuple[tuple[str, ...], str]] = set()
    vocab: set[str] = set()
    for entry in entries:
        if not entry.tokens or (entry.tokens, entry.tag) in seen:
            continue
        seen.add((entry.tokens, entry.tag))
        node = root
        for tok in entry.tokens:
            node = node.children.setdefault(tok, _Node())
        node.ends.append(entry)
        vocab.update(t for t in entry.tokens if max_edits(t) > 0)
    buckets: dict[str, list[str]] = {}
    for word in sorted(vocab):
        # Typos rarely hit the first letter; bucketing by it keeps lookups sub-millisecond.
        buckets.setdefault(word[0], []).append(word)
    return PhraseIndex(
        root=root,
        fuzzy=fuzzy,
        vocab_by_initial={k: tuple(v) for k, v in buckets.items()} if fuzzy else {},
    )
