"""Token patterns: the small language the triage concepts and context cues are written in.

A pattern is a sequence of elements matched inside one clause of folded, unstemmed tokens:

    chest ~3 pain*|pressure|tight*     "chest", then within 3 tokens a pain word
    no ~1 puedo|puede ~1 respirar       gaps are counted in skipped tokens
    took ~2 like? <num10> ~1 pills      `?` makes an element optional

An element is alternatives separated by `|`: a word, a prefix (`breath*`, for morphological
variants), or a number class (`<num>`, `<num10>` at least 10, `<hitemp>` a fever of 104 °F or
40 °C and above, `<infant>` 1-3 for ages in months, `<weeks>` 1-12, `<year>` 1950-2039).

Words are compared with doubled letters squeezed ("kneee", "bleeeding", "chesst") and, for words
of five letters or more, one typo (an edit or a swapped pair: "siezure", "breth") is forgiven.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from rapidfuzz.distance import OSA

_SQUEEZE = re.compile(r"(.)\1+")
_FUZZY_MIN = 5
_CACHE_MAX = 50_000
# Common words one typo away from a lexicon word: never read as the lexicon word.
_NOT_TYPOS = frozenset({"heard", "chess", "there", "three", "where", "think", "thing", "sleep"})

Tokens = tuple[str, ...]


def squeeze(word: str) -> str:
    return _SQUEEZE.sub(r"\1", word)


def _number(word: str) -> int | None:
    return int(word) if word.isdigit() and len(word) <= 4 else None


_CLASSES: dict[str, Callable[[int], bool]] = {
    "<num>": lambda n: True,
    "<num10>": lambda n: n >= 10,
    "<hitemp>": lambda n: 104 <= n <= 110 or 40 <= n <= 43,
    "<infant>": lambda n: 1 <= n <= 3,
    "<weeks>": lambda n: 1 <= n <= 12,
    "<year>": lambda n: 1950 <= n <= 2039,
}


@dataclass(frozen=True, slots=True)
class Step:
    element: int
    gap: int
    optional: bool


@dataclass(frozen=True, slots=True)
class Pattern:
    steps: tuple[Step, ...]
    tag: int  # the caller's index of what this pattern stands for


@dataclass(frozen=True, slots=True)
class Match:
    tag: int
    clause: int
    start: int
    end: int
    positions: tuple[int, ...]  # the tokens that matched elements, not the skipped ones


@dataclass
class _Lexicon:
    words: dict[str, set[int]] = field(default_factory=dict)
    prefixes: dict[str, set[int]] = field(default_factory=dict)
    classes: dict[str, set[int]] = field(default_factory=dict)
    elements: dict[str, int] = field(default_factory=dict)


class PatternSet:
    """Compiled patterns; `find` returns every match in every clause."""

    def __init__(self, patterns: Iterable[tuple[str, int]], *, fuzzy: bool = True) -> None:
        self._lex = _Lexicon()
        self._fuzzy = fuzzy
        self._by_first: dict[int, list[Pattern]] = {}
        for text, tag in patterns:
            pattern = self._parse(text, tag)
            self._by_first.setdefault(pattern.steps[0].element, []).append(pattern)
        self._prefix_lengths = sorted({len(p) for p in self._lex.prefixes})
        self._buckets = self._fuzzy_buckets()
        self._cache: dict[str, frozenset[int]] = {}

    def _parse(self, text: str, tag: int) -> Pattern:
        steps: list[Step] = []
        gap = 0
        for raw in text.split():
            if raw.startswith("~"):
                gap = int(raw[1:])
                continue
            optional = raw.endswith("?") and len(raw) > 1
            steps.append(Step(self._element(raw.rstrip("?") if optional else raw), gap, optional))
            gap = 0
        if not steps or steps[0].optional:
            raise ValueError(f"pattern {text!r} must start with a required element")
        return Pattern(tuple(steps), tag)

    def _element(self, spec: str) -> int:
        lex = self._lex
        key = "|".join(sorted(spec.split("|")))
        if key in lex.elements:
            return lex.elements[key]
        element = len(lex.elements)
        lex.elements[key] = element
        for alt in spec.split("|"):
            if alt in _CLASSES:
                lex.classes.setdefault(alt, set()).add(element)
            elif alt.endswith("*"):
                lex.prefixes.setdefault(squeeze(alt[:-1]), set()).add(element)
            elif alt:
                lex.words.setdefault(squeeze(alt), set()).add(element)
        return element

    def _fuzzy_buckets(self) -> dict[str, list[tuple[str, bool, set[int]]]]:
        buckets: dict[str, list[tuple[str, bool, set[int]]]] = {}
        for word, elements in self._lex.words.items():
            if len(word) >= _FUZZY_MIN:
                buckets.setdefault(word[0], []).append((word, False, elements))
        for prefix, elements in self._lex.prefixes.items():
            if len(prefix) >= _FUZZY_MIN:
                buckets.setdefault(prefix[0], []).append((prefix, True, elements))
        return buckets

    def elements(self, token: str) -> frozenset[int]:
        found = self._cache.get(token)
        if found is None:
            found = self._lookup(token)
            if len(self._cache) >= _CACHE_MAX:
                self._cache.clear()
            self._cache[token] = found
        return found

    def _lookup(self, token: str) -> frozenset[int]:
        lex = self._lex
        word = squeeze(token)
        out: set[int] = set(lex.words.get(word, ()))
        for n in self._prefix_lengths:
            if n > len(word):
                break
            out.update(lex.prefixes.get(word[:n], ()))
        number = _number(token)
        if number is not None:
            for name, elements in lex.classes.items():
                if _CLASSES[name](number):
                    out.update(elements)
        if not out and self._fuzzy and len(word) >= _FUZZY_MIN and word not in _NOT_TYPOS:
            out.update(self._typo(word))
        return frozenset(out)

    def _typo(self, word: str) -> set[int]:
        out: set[int] = set()
        for cand, is_prefix, elements in self._buckets.get(word[0], ()):
            if is_prefix:
                n = len(cand)
                heads = {word[: n - 1], word[:n], word[: n + 1]} if len(word) >= n - 1 else set()
                if any(OSA.distance(h, cand, score_cutoff=1) <= 1 for h in heads):
                    out.update(elements)
            elif abs(len(cand) - len(word)) <= 1 and OSA.distance(word, cand, score_cutoff=1) <= 1:
                out.update(elements)
        return out

    def find(self, clauses: Sequence[Tokens]) -> list[Match]:
        matches: list[Match] = []
        for ci, clause in enumerate(clauses):
            if not clause:
                continue
            at = [self.elements(tok) for tok in clause]
            for start, here in enumerate(at):
                for element in here:
                    for pattern in self._by_first.get(element, ()):
                        positions = _match(pattern.steps, 1, at, start + 1, [start])
                        if positions is not None:
                            end = positions[-1] + 1
                            matches.append(Match(pattern.tag, ci, start, end, tuple(positions)))
        return matches


def _match(
    steps: Sequence[Step], k: int, at: Sequence[frozenset[int]], pos: int, got: list[int]
) -> list[int] | None:
    if k == len(steps):
        return got
    step = steps[k]
    for p in range(pos, min(pos + step.gap + 1, len(at))):
        if step.element in at[p]:
            found = _match(steps, k + 1, at, p + 1, [*got, p])
            if found is not None:
                return found
    if step.optional:
        return _match(steps, k + 1, at, pos, got)
    return None
