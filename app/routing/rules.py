"""Routing rule sets: validation, compilation once per version, first-match evaluation.

Rule JSON: `{"rules": [{"id"?, "name", "conditions": [{"field", "op", "value"?}],
"team_id", "strategy"?}]}` (a bare list of rules is accepted too). Rules are tried
in order; the last rule must have no conditions and catches every lead.

Matching semantics, chosen so a rule never matches on data the lead lacks:
a missing fact (None) fails every operator except `exists`; string comparisons
ignore case.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any, Literal, cast

from app.routing.strategies import Strategy

FieldType = Literal["str", "number", "bool"]

FIELDS: Mapping[str, FieldType] = {
    "service": "str",
    "location_id": "str",
    "state": "str",
    "zip": "str",
    "distance_miles": "number",
    "score": "number",
    "band": "str",
    "urgency": "str",
    "emergency": "bool",
    "qualified": "bool",
    "language": "str",
    "source_id": "str",
    "source_kind": "str",
    "campaign": "str",
    "insurance": "str",
    "new_patient": "bool",
    "team_open": "bool",
    # Days from receipt to the earliest free slot fitting the lead at its location.
    "time_to_first_slot": "number",
}
_ALWAYS = frozenset({"eq", "ne", "exists"})
OPERATORS: Mapping[FieldType, frozenset[str]] = {
    "str": _ALWAYS | {"in", "not_in", "prefix"},
    "number": _ALWAYS | {"in", "not_in", "gte", "lte", "gt", "lt"},
    "bool": _ALWAYS | {"is_true", "is_false"},
}
STRATEGY_NAMES = frozenset({"round_robin", "weighted", "least_loaded"})
_RULE_KEYS = frozenset({"id", "name", "conditions", "team_id", "strategy"})
_CONDITION_KEYS = frozenset({"field", "op", "value"})

Predicate = Callable[[Any], bool]


@dataclass(frozen=True, slots=True, kw_only=True)
class LeadFacts:
    received_at: datetime
    service: str | None = None
    location_id: str | None = None
    state: str | None = None
    zip: str | None = None
    distance_miles: float | None = None
    score: float | None = None
    band: str | None = None
    urgency: str | None = None
    emergency: bool = False
    qualified: bool | None = None
    language: str | None = None
    source_id: str | None = None
    source_kind: str | None = None
    campaign: str | None = None
    insurance: str | None = None
    new_patient: bool | None = None
    time_to_first_slot: float | None = None
    # The member who handled this person before (resubmission, call-back).
    sticky_member_id: str | None = None


@dataclass(frozen=True, slots=True)
class RuleError:
    path: str
    message: str


class RulesetInvalid(ValueError):
    def __init__(self, errors: Sequence[RuleError]) -> None:
        super().__init__("; ".join(f"{e.path}: {e.message}" for e in errors))
        self.errors = tuple(errors)


@dataclass(frozen=True, slots=True)
class Condition:
    field: str
    op: str
    value: Any = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"field": self.field, "op": self.op}
        if self.value is not None:
            out["value"] = self.value
        return out


@dataclass(frozen=True, slots=True)
class Rule:
    rule_id: str
    name: str
    conditions: tuple[Condition, ...]
    team_id: str
    strategy: Strategy | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.rule_id,
            "name": self.name,
            "conditions": [c.to_json() for c in self.conditions],
            "team_id": self.team_id,
            "strategy": self.strategy,
        }


@dataclass(frozen=True, slots=True)
class CompiledRule:
    rule: Rule
    # (fact key, predicate); team_open keys are "team_open:<team_id>".
    checks: tuple[tuple[str, Predicate], ...]


@dataclass(frozen=True, slots=True)
class RuleMatch:
    """Outcome of first-match evaluation, kept compact for the hot path.

    `failures` holds the failing condition of each rule actually evaluated;
    rules the index ruled out failed on their first condition. `tried` is the
    number of leading rules considered (through the match).
    """

    index: int | None
    failures: Mapping[int, int]
    tried: int

    def steps(self) -> list[tuple[int, int]]:
        """(rule index, failing condition index or -1 for the match) per rule tried."""
        return [(i, -1 if i == self.index else self.failures.get(i, 0)) for i in range(self.tried)]


@dataclass(frozen=True)
class CompiledRuleset:
    version: int
    rules: tuple[CompiledRule, ...]
    team_open_teams: frozenset[str] = field(default_factory=frozenset)
    # Rules whose first condition is eq/in are indexed by (fact, value), so a lead
    # only evaluates rules that can possibly match: 1,000 service rules cost
    # about as much as ten.
    _index: Mapping[str, Mapping[Any, tuple[int, ...]]] = field(init=False, repr=False)
    _unindexed: tuple[int, ...] = field(init=False, repr=False)
    _fields: frozenset[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        index: dict[str, dict[Any, list[int]]] = {}
        unindexed: list[int] = []
        for i, compiled in enumerate(self.rules):
            first = compiled.rule.conditions[0] if compiled.rule.conditions else None
            if first is None or first.op not in ("eq", "in") or first.field == "team_open":
                unindexed.append(i)
                continue
            values = first.value if first.op == "in" else [first.value]
            table = index.setdefault(first.field, {})
            for value in {_norm(v) for v in values}:
                table.setdefault(value, []).append(i)
        frozen = {f: {v: tuple(ix) for v, ix in t.items()} for f, t in index.items()}
        object.__setattr__(self, "_index", frozen)
        object.__setattr__(self, "_unindexed", tuple(unindexed))
        fields = {c.field for r in self.rules for c in r.rule.conditions}
        object.__setattr__(self, "_fields", frozenset(fields))

    def uses(self, fact: str) -> bool:
        """Whether any rule has a condition on `fact` (the ZIP is decrypted only then)."""
        return fact in self._fields

    def first_match(self, values: Mapping[str, Any]) -> RuleMatch:
        candidates = list(self._unindexed)
        for key, table in self._index.items():
            found = table.get(values.get(key))
            if found:
                candidates.extend(found)
        candidates.sort()
        failures: dict[int, int] = {}
        for index in candidates:
            failed = -1
            for ci, (key, predicate) in enumerate(self.rules[index].checks):
                if not predicate(values.get(key)):
                    failed = ci
                    break
            if failed < 0:
                return RuleMatch(index, failures, index + 1)
            failures[index] = failed
        return RuleMatch(None, failures, len(self.rules))

    def to_json(self) -> dict[str, Any]:
        return {"version": self.version, "rules": [c.rule.to_json() for c in self.rules]}


def fact_key(condition: Condition, team_id: str) -> str:
    return f"team_open:{team_id}" if condition.field == "team_open" else condition.field


_BY_KIND = {
    kind: tuple(n for n, k in FIELDS.items() if k == kind and n != "team_open")
    for kind in ("str", "number", "bool")
}


def fact_values(facts: LeadFacts) -> dict[str, Any]:
    """Facts normalised once per lead so each predicate is a bare comparison."""
    values: dict[str, Any] = {}
    for name in _BY_KIND["str"]:
        raw = getattr(facts, name)
        values[name] = raw.strip().casefold() if isinstance(raw, str) else None
    for name in _BY_KIND["number"]:
        raw = getattr(facts, name)
        ok = isinstance(raw, int | float) and not isinstance(raw, bool)
        values[name] = raw if ok else None
    for name in _BY_KIND["bool"]:
        raw = getattr(facts, name)
        values[name] = raw if isinstance(raw, bool) else None
    return values


# --- validation -------------------------------------------------------------


def _is_type(value: object, kind: FieldType) -> bool:
    if kind == "str":
        return isinstance(value, str)
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    return isinstance(value, bool)


def _value_error(kind: FieldType, op: str, value: object) -> str | None:
    """Why `value` is unusable for (kind, op), or None when it is fine."""
    if op in ("is_true", "is_false"):
        return None if value is None else f"{op} takes no value"
    if op == "exists":
        return None if value is None or isinstance(value, bool) else "exists takes true/false"
    if op in ("in", "not_in") or (op == "prefix" and isinstance(value, list)):
        if not isinstance(value, list) or not value:
            return f"{op} needs a non-empty list"
        bad = [v for v in value if not _is_type(v, kind)]
        return f"every item must be a {kind}" if bad else None
    if op in ("gte", "lte", "gt", "lt"):
        return None if _is_type(value, "number") else f"{op} needs a number"
    return None if _is_type(value, kind) else f"{op} on this field needs a {kind}"


def _parse_condition(raw: object, path: str, errors: list[RuleError]) -> Condition | None:
    if not isinstance(raw, Mapping):
        errors.append(RuleError(path, "a condition must be an object"))
        return None
    count = len(errors)
    for key in sorted(set(raw) - _CONDITION_KEYS):
        errors.append(RuleError(f"{path}/{key}", "unknown key"))
    name, op, value = raw.get("field"), raw.get("op"), raw.get("value")
    kind = FIELDS.get(name) if isinstance(name, str) else None
    if kind is None:
        errors.append(RuleError(f"{path}/field", f"unknown field {name!r}"))
    elif not isinstance(op, str) or op not in OPERATORS[kind]:
        allowed = ", ".join(sorted(OPERATORS[kind]))
        errors.append(RuleError(f"{path}/op", f"operator {op!r} not valid for {kind}: {allowed}"))
    else:
        problem = _value_error(kind, op, value)
        if problem:
            errors.append(RuleError(f"{path}/value", problem))
    if len(errors) > count:
        return None
    assert isinstance(name, str) and isinstance(op, str)
    return Condition(name, op, value)


def _parse_rule(
    raw: object, path: str, team_ids: Collection[str] | None, errors: list[RuleError]
) -> Rule | None:
    if not isinstance(raw, Mapping):
        errors.append(RuleError(path, "a rule must be an object"))
        return None
    count = len(errors)
    for key in sorted(set(raw) - _RULE_KEYS):
        errors.append(RuleError(f"{path}/{key}", "unknown key"))
    name, team_id, strategy = raw.get("name"), raw.get("team_id"), raw.get("strategy")
    rule_id = raw.get("id", name)
    if not isinstance(name, str) or not name.strip():
        errors.append(RuleError(f"{path}/name", "a non-empty name is required"))
    if not isinstance(rule_id, str) or not rule_id:
        errors.append(RuleError(f"{path}/id", "id must be a non-empty string"))
    if not isinstance(team_id, str) or not team_id:
        errors.append(RuleError(f"{path}/team_id", "team_id is required"))
    elif team_ids is not None and team_id not in team_ids:
        errors.append(RuleError(f"{path}/team_id", f"unknown team {team_id!r}"))
    if strategy is not None and strategy not in STRATEGY_NAMES:
        allowed = ", ".join(sorted(STRATEGY_NAMES))
        errors.append(RuleError(f"{path}/strategy", f"unknown strategy; one of {allowed}"))
    raw_conditions = raw.get("conditions", [])
    if not isinstance(raw_conditions, list):
        errors.append(RuleError(f"{path}/conditions", "conditions must be a list"))
        raw_conditions = []
    conditions = [
        _parse_condition(c, f"{path}/conditions/{i}", errors) for i, c in enumerate(raw_conditions)
    ]
    if len(errors) > count:
        return None
    kept = tuple(c for c in conditions if c)
    return Rule(str(rule_id), str(name), kept, str(team_id), cast("Strategy | None", strategy))


def parse_ruleset(
    document: object, team_ids: Collection[str] | None = None
) -> tuple[tuple[Rule, ...], list[RuleError]]:
    """Rules plus every problem found, each with a JSON pointer into `document`."""
    errors: list[RuleError] = []
    base, items = "", document
    if isinstance(document, Mapping):
        base, items = "/rules", document.get("rules")
    if not isinstance(items, list) or not items:
        return (), [RuleError(base, "a non-empty list of rules is required")]
    parsed = [(i, _parse_rule(r, f"{base}/{i}", team_ids, errors)) for i, r in enumerate(items)]
    seen: set[str] = set()
    for i, rule in parsed:
        if rule is None:
            continue
        if rule.rule_id in seen:
            errors.append(RuleError(f"{base}/{i}/id", f"duplicate rule id {rule.rule_id!r}"))
        seen.add(rule.rule_id)
        if not rule.conditions and i != len(items) - 1:
            msg = "only the last (default) rule may have no conditions; it would hide later rules"
            errors.append(RuleError(f"{base}/{i}/conditions", msg))
    # Judged on the raw item so the missing default is reported even when the
    # last rule has other errors.
    last = items[-1]
    if isinstance(last, Mapping) and last.get("conditions"):
        errors.append(RuleError(f"{base}/{len(items) - 1}", "the last rule must be a default rule"))
    return tuple(r for _, r in parsed if r is not None), errors


def validate_ruleset(document: object, team_ids: Collection[str] | None = None) -> list[RuleError]:
    return parse_ruleset(document, team_ids)[1]


# --- compilation ------------------------------------------------------------


def _norm(value: Any) -> Any:
    return value.strip().casefold() if isinstance(value, str) else value


def _predicate(op: str, value: Any) -> Predicate:
    if op == "exists":
        want = value is not False
        return lambda a: (a is not None) is want
    if op == "is_true":
        return lambda a: a is True
    if op == "is_false":
        return lambda a: a is False
    if op in ("in", "not_in"):
        members = frozenset(_norm(v) for v in value)
        if op == "in":
            return members.__contains__
        return lambda a: a is not None and a not in members
    if op == "prefix":
        prefixes = tuple(_norm(v) for v in (value if isinstance(value, list) else [value]))
        return lambda a: isinstance(a, str) and a.startswith(prefixes)
    return _comparison(op, _norm(value))


def _comparison(op: str, v: Any) -> Predicate:
    if op == "eq":
        # v is never None, so None == v is already False; partial keeps this in C.
        return partial(operator.eq, v)
    if op == "ne":
        return lambda a: a is not None and a != v
    if op == "gte":
        return lambda a: a is not None and a >= v
    if op == "lte":
        return lambda a: a is not None and a <= v
    if op == "gt":
        return lambda a: a is not None and a > v
    if op == "lt":
        return lambda a: a is not None and a < v
    raise ValueError(f"unknown operator {op!r}")


def compile_ruleset(
    document: object, version: int, team_ids: Collection[str] | None = None
) -> CompiledRuleset:
    """Validate and precompile; raises RulesetInvalid with every error found."""
    rules, errors = parse_ruleset(document, team_ids)
    if errors:
        raise RulesetInvalid(errors)
    compiled = tuple(
        CompiledRule(
            rule,
            tuple((fact_key(c, rule.team_id), _predicate(c.op, c.value)) for c in rule.conditions),
        )
        for rule in rules
    )
    open_teams = frozenset(
        r.team_id for r in rules if any(c.field == "team_open" for c in r.conditions)
    )
    return CompiledRuleset(version=version, rules=compiled, team_open_teams=open_teams)
