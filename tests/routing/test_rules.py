from datetime import UTC, datetime
from typing import Any

import pytest

from app.routing.rules import (
    FIELDS,
    OPERATORS,
    LeadFacts,
    RuleError,
    RulesetInvalid,
    compile_ruleset,
    fact_values,
    validate_ruleset,
)

RECEIVED = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
FACTS = LeadFacts(
    received_at=RECEIVED,
    service="Orthopedics",
    location_id="loc-1",
    state="IL",
    zip="60614-1234",
    distance_miles=12.5,
    score=72,
    band="hot",
    urgency="routine",
    emergency=False,
    qualified=True,
    language="es",
    source_id="src-9",
    source_kind="meta_lead_form",
    campaign="knee-spring",
    insurance="BCBS",
    new_patient=False,
)
EMPTY = LeadFacts(received_at=RECEIVED)
DEFAULT = {"name": "default", "team_id": "t-default"}


def matches(condition: dict[str, Any], facts: LeadFacts = FACTS, team_open: bool = True) -> bool:
    rules = {"rules": [{"name": "r", "conditions": [condition], "team_id": "t"}, DEFAULT]}
    compiled = compile_ruleset(rules, version=1)
    values = fact_values(facts)
    values["team_open:t"] = team_open
    return compiled.first_match(values).index == 0


@pytest.mark.parametrize(
    ("field", "op", "value", "expected"),
    [
        ("service", "eq", "orthopedics", True),  # case-insensitive
        ("service", "eq", "cardiology", False),
        ("service", "ne", "cardiology", True),
        ("service", "in", ["cardiology", "ORTHOPEDICS"], True),
        ("service", "not_in", ["cardiology"], True),
        ("service", "not_in", ["orthopedics"], False),
        ("service", "exists", None, True),
        ("service", "exists", False, False),
        ("location_id", "eq", "loc-1", True),
        ("state", "in", ["IL", "WI"], True),
        ("zip", "prefix", "606", True),
        ("zip", "prefix", ["100", "606"], True),
        ("zip", "prefix", "607", False),
        ("distance_miles", "lte", 15, True),
        ("distance_miles", "lt", 12.5, False),
        ("distance_miles", "gt", 12, True),
        ("score", "gte", 72, True),
        ("score", "gte", 73, False),
        ("score", "eq", 72, True),
        ("score", "in", [70, 72], True),
        ("score", "ne", 72, False),
        ("band", "eq", "HOT", True),
        ("urgency", "ne", "urgent", True),
        ("emergency", "is_false", None, True),
        ("emergency", "is_true", None, False),
        ("qualified", "is_true", None, True),
        ("qualified", "eq", True, True),
        ("qualified", "ne", True, False),
        ("language", "eq", "es", True),
        ("source_id", "eq", "src-9", True),
        ("source_kind", "in", ["meta_lead_form", "google_lead_form"], True),
        ("campaign", "prefix", "knee-", True),
        ("insurance", "not_in", ["aetna"], True),
        ("new_patient", "is_false", None, True),
        ("new_patient", "is_true", None, False),
        ("team_open", "is_true", None, True),
        ("team_open", "exists", None, True),
    ],
)
def test_operator_on_field(field: str, op: str, value: Any, expected: bool) -> None:
    condition = {"field": field, "op": op} | ({} if value is None else {"value": value})
    assert matches(condition) is expected


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        # A missing fact never matches, not even negative operators.
        ({"field": "service", "op": "ne", "value": "x"}, False),
        ({"field": "state", "op": "not_in", "value": ["CA"]}, False),
        ({"field": "score", "op": "lt", "value": 50}, False),
        ({"field": "qualified", "op": "is_false"}, False),
        ({"field": "zip", "op": "prefix", "value": "6"}, False),
        ({"field": "insurance", "op": "exists"}, False),
        ({"field": "insurance", "op": "exists", "value": False}, True),
    ],
)
def test_missing_facts(condition: dict[str, Any], expected: bool) -> None:
    assert matches(condition, EMPTY) is expected


def test_team_open_false() -> None:
    assert matches({"field": "team_open", "op": "is_true"}, team_open=False) is False
    assert matches({"field": "team_open", "op": "is_false"}, team_open=False) is True


def test_every_field_has_operators() -> None:
    assert set(FIELDS.values()) == set(OPERATORS)


def test_first_match_wins_and_steps_record_failures() -> None:
    rules = [
        {
            "name": "cardio",
            "conditions": [{"field": "service", "op": "eq", "value": "cardiology"}],
            "team_id": "a",
        },
        {
            "id": "ortho-il",
            "name": "ortho in IL",
            "conditions": [
                {"field": "service", "op": "eq", "value": "orthopedics"},
                {"field": "state", "op": "eq", "value": "IL"},
            ],
            "team_id": "b",
            "strategy": "weighted",
        },
        {
            "name": "ortho",
            "conditions": [{"field": "service", "op": "eq", "value": "orthopedics"}],
            "team_id": "c",
        },
        DEFAULT,
    ]
    compiled = compile_ruleset(rules, version=7, team_ids={"a", "b", "c", "t-default"})
    match = compiled.first_match(fact_values(FACTS))
    assert match.index == 1
    assert match.steps() == [(0, 0), (1, -1)]
    rule = compiled.rules[1].rule
    assert (rule.rule_id, rule.strategy, compiled.version) == ("ortho-il", "weighted", 7)
    # Default catches everything else.
    match = compiled.first_match(fact_values(EMPTY))
    assert match.index == 3
    assert match.steps() == [(0, 0), (1, 0), (2, 0), (3, -1)]
    assert compiled.rules[3].rule.rule_id == "default"
    assert compile_ruleset(compiled.to_json(), version=7).to_json() == compiled.to_json()


def rule(conditions: list[Any], **extra: Any) -> dict[str, Any]:
    return {"name": "r", "conditions": conditions, "team_id": "t"} | extra


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ({"rules": []}, RuleError("/rules", "a non-empty list of rules is required")),
        ("nope", RuleError("", "a non-empty list of rules is required")),
        (
            [rule([{"field": "colour", "op": "eq", "value": "x"}]), DEFAULT],
            RuleError("/0/conditions/0/field", "unknown field 'colour'"),
        ),
        (
            {"rules": [rule([{"field": "score", "op": "prefix", "value": "1"}]), DEFAULT]},
            "/rules/0/conditions/0/op",
        ),
        (
            [rule([{"field": "score", "op": "gte", "value": "70"}]), DEFAULT],
            RuleError("/0/conditions/0/value", "gte needs a number"),
        ),
        (
            [rule([{"field": "score", "op": "gte", "value": True}]), DEFAULT],
            "/0/conditions/0/value",
        ),
        (
            [rule([{"field": "state", "op": "in", "value": []}]), DEFAULT],
            RuleError("/0/conditions/0/value", "in needs a non-empty list"),
        ),
        (
            [rule([{"field": "state", "op": "in", "value": ["IL", 3]}]), DEFAULT],
            "/0/conditions/0/value",
        ),
        (
            [rule([{"field": "qualified", "op": "is_true", "value": True}]), DEFAULT],
            "/0/conditions/0/value",
        ),
        (
            [rule([{"field": "qualified", "op": "eq", "value": "yes"}]), DEFAULT],
            "/0/conditions/0/value",
        ),
        (
            [rule([{"field": "state", "op": "eq", "value": "IL", "x": 1}]), DEFAULT],
            "/0/conditions/0/x",
        ),
        ([rule(["state=IL"]), DEFAULT], "/0/conditions/0"),
        ([rule([], colour="red"), DEFAULT], "/0/colour"),
        ([rule([], strategy="random"), DEFAULT], "/0/strategy"),
        ([{"conditions": [], "team_id": "t"}], "/0/name"),
        ([{"name": "r"}], "/0/team_id"),
        (
            [rule([{"field": "state", "op": "eq", "value": "IL"}])],
            RuleError("/0", "the last rule must be a default rule"),
        ),
        (
            [rule([]), rule([{"field": "state", "op": "eq", "value": "IL"}], name="s"), DEFAULT],
            "/0/conditions",
        ),
        (
            [rule([{"field": "state", "op": "eq", "value": "IL"}]), DEFAULT | {"name": "r"}],
            RuleError("/1/id", "duplicate rule id 'r'"),
        ),
        ([DEFAULT | {"team_id": "ghost"}], RuleError("/0/team_id", "unknown team 'ghost'")),
    ],
)
def test_validation_errors(document: object, expected: RuleError | str) -> None:
    errors = validate_ruleset(document, team_ids={"t", "t-default"})
    if isinstance(expected, str):
        assert expected in [e.path for e in errors]
    else:
        assert expected in errors
    with pytest.raises(RulesetInvalid) as info:
        compile_ruleset(document, version=1, team_ids={"t", "t-default"})
    assert info.value.errors == tuple(errors)


def test_all_errors_reported_at_once() -> None:
    document = [
        rule([{"field": "colour", "op": "eq"}, {"field": "score", "op": "lt", "value": "x"}]),
        rule([{"field": "state", "op": "eq", "value": "IL"}], name="z", team_id="ghost"),
    ]
    paths = [e.path for e in validate_ruleset(document, team_ids={"t"})]
    assert paths == [
        "/0/conditions/0/field",
        "/0/conditions/1/value",
        "/1/team_id",
        "/1",
    ]


def test_team_ids_optional_and_team_open_teams_collected() -> None:
    document = [rule([{"field": "team_open", "op": "is_true"}], team_id="x"), DEFAULT]
    compiled = compile_ruleset(document, version=2)
    assert compiled.team_open_teams == frozenset({"x"})
    assert compiled.rules[0].checks[0][0] == "team_open:x"


MIXED = [
    rule([{"field": "score", "op": "gte", "value": 90}], name="hot", team_id="a"),
    rule([{"field": "service", "op": "eq", "value": "cardiology"}], name="cardio"),
    rule(
        [
            {"field": "state", "op": "in", "value": ["IL", "WI"]},
            {"field": "service", "op": "eq", "value": "orthopedics"},
        ],
        name="ortho-midwest",
    ),
    rule([{"field": "service", "op": "in", "value": ["orthopedics", "spine"]}], name="ortho"),
    rule([{"field": "team_open", "op": "is_false"}], name="closed"),
    rule([{"field": "qualified", "op": "eq", "value": False}], name="unqualified"),
    DEFAULT,
]


@pytest.mark.parametrize(
    ("lead", "expected"),
    [
        ({"score": 95, "service": "cardiology"}, "hot"),
        ({"score": 50, "service": "Cardiology"}, "cardio"),
        ({"service": "orthopedics", "state": "wi"}, "ortho-midwest"),
        ({"service": "orthopedics", "state": "CA"}, "ortho"),
        ({"service": "spine", "state": "IL"}, "ortho"),
        ({"service": "dermatology"}, "closed"),
        ({"service": "dermatology", "qualified": False}, "closed"),
        ({}, "closed"),
    ],
)
def test_index_agrees_with_evaluating_every_rule_in_order(
    lead: dict[str, Any], expected: str
) -> None:
    compiled = compile_ruleset(MIXED, version=1)
    values = fact_values(LeadFacts(received_at=RECEIVED, **lead))
    values["team_open:t"] = False
    brute = next(
        i
        for i, c in enumerate(compiled.rules)
        if all(pred(values.get(key)) for key, pred in c.checks)
    )
    match = compiled.first_match(values)
    assert match.index == brute
    assert compiled.rules[brute].rule.name == expected
    for index, failed in match.steps()[:-1]:
        key, pred = compiled.rules[index].checks[failed]
        assert not pred(values.get(key))
        assert all(p(values.get(k)) for k, p in compiled.rules[index].checks[:failed])
