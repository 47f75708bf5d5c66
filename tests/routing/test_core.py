import json
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from app.hours import parse_hours
from app.routing.core import (
    LeadFacts,
    MemberState,
    RotationState,
    RoutingError,
    TeamState,
    route,
    urgent_team,
)
from app.routing.rules import compile_ruleset
from app.routing.strategies import Strategy

CHI = ZoneInfo("America/Chicago")
# Monday 2026-03-02 10:00 Chicago; Saturday 2026-03-07 23:00 Chicago.
MONDAY = datetime(2026, 3, 2, 10, 0, tzinfo=CHI)
SATURDAY_NIGHT = datetime(2026, 3, 7, 23, 0, tzinfo=CHI)
OFFICE = parse_hours(
    {
        "time_zone": "America/Chicago",
        **{d: [["08:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")},
    }
)
RULES = compile_ruleset(
    {
        "rules": [
            {
                "name": "ortho",
                "conditions": [{"field": "service", "op": "eq", "value": "orthopedics"}],
                "team_id": "ortho",
            },
            {
                "name": "ortho-open",
                "conditions": [{"field": "team_open", "op": "is_true"}],
                "team_id": "main",
            },
            {"name": "default", "team_id": "main"},
        ]
    },
    version=3,
)


def member(member_id: str, **kw: Any) -> MemberState:
    return MemberState(member_id=member_id, name=member_id.upper(), **kw)


def team(team_id: str, *members: MemberState, **kw: Any) -> TeamState:
    return TeamState(team_id=team_id, name=team_id, members=members, **kw)


def facts(**kw: Any) -> LeadFacts:
    return LeadFacts(received_at=kw.pop("received_at", MONDAY), **kw)


def teams(*items: TeamState) -> dict[str, TeamState]:
    return {t.team_id: t for t in items}


def simulate(t: TeamState, leads: int, lead: LeadFacts | None = None) -> Counter[str]:
    """Route `leads` leads, persisting the rotation between calls like the DB does."""
    counts: Counter[str] = Counter()
    for _ in range(leads):
        decision = route(lead or facts(), RULES, teams(t), MONDAY)
        assert decision.member_id is not None and decision.team_id == "main"
        counts[decision.member_id] += 1
        t = replace(t, rotation=decision.new_rotation)
        # A JSON round trip is what persistence does to the state.
        t = replace(
            t, rotation=RotationState.from_json(json.loads(json.dumps(t.rotation.to_json())))
        )
    return counts


@pytest.mark.parametrize(
    ("strategy", "weights", "leads", "expected"),
    [
        ("round_robin", (1, 1, 1), 999, {"a": 333, "b": 333, "c": 333}),
        ("round_robin", (5, 1, 1), 999, {"a": 333, "b": 333, "c": 333}),  # weights ignored
        ("weighted", (2, 1, 1), 1000, {"a": 500, "b": 250, "c": 250}),
        ("weighted", (3, 2, 1), 600, {"a": 300, "b": 200, "c": 100}),
        ("least_loaded", (1, 1, 1), 300, {"a": 100, "b": 100, "c": 100}),  # equal loads rotate
    ],
)
def test_distribution_is_exact(
    strategy: Strategy, weights: tuple[int, ...], leads: int, expected: dict[str, int]
) -> None:
    members = [member(m, weight=w) for m, w in zip("abc", weights, strict=True)]
    assert simulate(team("main", *members, strategy=strategy), leads) == expected


def test_round_robin_order_and_position() -> None:
    t = team("main", member("a"), member("b"), member("c"))
    picks = []
    for _ in range(6):
        d = route(facts(), RULES, teams(t), MONDAY)
        picks.append(d.member_id)
        t = replace(t, rotation=d.new_rotation)
    assert picks == ["a", "b", "c", "a", "b", "c"]
    assert t.rotation.position == 6 and t.rotation.last_member_id == "c"


def test_skipped_member_keeps_its_turn() -> None:
    # b is at capacity when its turn comes, c takes that lead, and b goes next once
    # free: a skip costs a place in line, not a share, and builds no backlog.
    free = (member("a"), member("b"), member("c"))
    busy = (member("a"), member("b", open_leads=5), member("c"))
    t = team("main", *free, capacity_per_member=5)
    picks = []
    for members in (free, busy, free, free, free, free):
        t = replace(t, members=members)
        d = route(facts(), RULES, teams(t), MONDAY)
        picks.append(d.member_id)
        t = replace(t, rotation=d.new_rotation)
    assert picks == ["a", "c", "b", "c", "a", "b"]  # two each after two rounds
    assert simulate(t, 999) == {"a": 333, "b": 333, "c": 333}


def test_away_member_gets_nothing_until_away_until() -> None:
    back = MONDAY + timedelta(hours=2)
    t = team("main", member("a"), member("b", status="away", away_until=back))
    picks = []
    for at in [MONDAY + timedelta(minutes=i) for i in range(5)] + [back, back, back, back]:
        d = route(facts(), RULES, teams(t), at)
        picks.append(d.member_id)
        t = replace(t, rotation=d.new_rotation)
    # No backlog: on return b simply rejoins the alternation.
    assert picks == ["a"] * 5 + ["a", "b", "a", "b"]


def test_least_loaded_picks_fewest_open_leads() -> None:
    t = team(
        "main",
        member("a", open_leads=4),
        member("b", open_leads=1),
        member("c", open_leads=2),
        strategy="least_loaded",
    )
    assert route(facts(), RULES, teams(t), MONDAY).member_id == "b"


def test_rule_strategy_override() -> None:
    rules = compile_ruleset([{"name": "d", "team_id": "main", "strategy": "least_loaded"}], 1)
    t = team("main", member("a", open_leads=4), member("b", open_leads=1))
    d = route(facts(), rules, teams(t), MONDAY)
    assert (d.member_id, d.strategy) == ("b", "least_loaded")


ES = frozenset({"es"})


@pytest.mark.parametrize(
    ("m", "lead", "reason"),
    [
        (member("x", status="inactive"), {}, "inactive"),
        (member("x", status="away"), {}, "away"),
        (member("x", status="away", away_until=MONDAY + timedelta(seconds=1)), {}, "away"),
        (member("x", status="away", away_until=MONDAY), {}, None),
        (member("x", open_leads=3), {}, "at_capacity"),
        (member("x", open_leads=3, capacity=4), {}, None),
        (member("x", daily_cap=10, assigned_today=10), {}, "daily_cap_reached"),
        (member("x", daily_cap=10, assigned_today=9), {}, None),
        (member("x", languages=frozenset({"en"})), {"language": "es-MX"}, "language_mismatch"),
        (member("x", languages=frozenset({"en", "ES"})), {"language": "es-MX"}, None),
        (member("x"), {"language": "es"}, "language_mismatch"),  # team languages: en
        (member("x"), {}, None),
    ],
)
def test_skip_reasons_in_trace(m: MemberState, lead: dict[str, Any], reason: str | None) -> None:
    t = team("main", m, capacity_per_member=3, languages=frozenset({"en"}))
    d = route(facts(**lead), RULES, teams(t), MONDAY)
    (step,) = d.trace.teams
    assert step.candidates[0].skipped == reason
    assert d.status == ("assigned" if reason is None else "queued")
    assert d.trace.to_json()["teams"][0]["candidates"][0]["skipped"] == reason


def test_sticky_member_wins_without_advancing_rotation() -> None:
    t = team("main", member("a"), member("b"), member("c"), rotation=RotationState(position=4))
    d = route(facts(sticky_member_id="c"), RULES, teams(t), MONDAY)
    assert (d.member_id, d.sticky, d.new_rotation) == ("c", True, t.rotation)
    assert d.trace.teams[0].sticky == "used"


@pytest.mark.parametrize(
    ("sticky", "note"),
    [("c", "skipped:away"), ("zz", "not_in_team")],
)
def test_sticky_member_unavailable_falls_back_to_rotation(sticky: str, note: str) -> None:
    t = team("main", member("a"), member("b"), member("c", status="away"))
    d = route(facts(sticky_member_id=sticky), RULES, teams(t), MONDAY)
    assert (d.member_id, d.sticky, d.trace.teams[0].sticky) == ("a", False, note)
    assert d.new_rotation.position == 1


def test_overflow_when_nobody_available() -> None:
    main = team("main", member("a", status="inactive"), overflow_team_id="backup")
    backup = team("backup", member("z"))
    d = route(facts(), RULES, teams(main, backup), MONDAY)
    assert (d.status, d.team_id, d.member_id, d.overflowed_from) == (
        "assigned",
        "backup",
        "z",
        ("main",),
    )
    assert d.new_rotation.last_member_id == "z"
    assert d.trace.to_json()["overflow"] == [
        {"from": "main", "to": "backup", "reason": "nobody_available", "refused": None}
    ]


def test_overflow_loop_is_cut_and_lead_queued() -> None:
    a = team("a", member("x", status="inactive"), overflow_team_id="b")
    b = team("b", member("y", status="inactive"), overflow_team_id="c")
    c = team("c", member("w", status="inactive"), overflow_team_id="a")
    rules = compile_ruleset([{"name": "d", "team_id": "a"}], 1)
    d = route(facts(), rules, teams(a, b, c), MONDAY)
    assert (d.status, d.team_id, d.callback_at) == ("queued", "a", MONDAY)
    assert [(h.from_team_id, h.to_team_id, h.refused) for h in d.trace.hops] == [
        ("a", "b", None),
        ("b", "c", None),
        ("c", "a", "already_visited"),
    ]


def test_closed_team_queues_with_callback_at_next_opening() -> None:
    t = team("main", member("a"), hours=OFFICE, sla_minutes={"routine": 60})
    d = route(facts(received_at=SATURDAY_NIGHT), RULES, teams(t), SATURDAY_NIGHT)
    monday_8 = datetime(2026, 3, 9, 8, 0, tzinfo=CHI)
    assert (d.status, d.member_id, d.callback_at) == ("queued", None, monday_8)
    assert d.sla_due_at == monday_8 + timedelta(hours=1)
    assert d.new_rotation == t.rotation
    assert d.trace.teams[0].outcome == "closed"
    assert d.trace.teams[0].time_zone == "America/Chicago"


def test_closed_team_overflows_to_open_team() -> None:
    main = team("main", member("a"), hours=OFFICE, overflow_team_id="nurse")
    nurse = team("nurse", member("n"))
    d = route(facts(), RULES, teams(main, nurse), SATURDAY_NIGHT)
    assert (d.status, d.team_id, d.member_id) == ("assigned", "nurse", "n")
    assert d.trace.hops[0].reason == "closed"


def test_queue_goes_where_callback_is_soonest() -> None:
    weekend = parse_hours({"time_zone": "America/Chicago", "sun": [["09:00", "12:00"]]})
    main = team("main", member("a"), hours=OFFICE, overflow_team_id="weekend")
    other = team("weekend", member("w"), hours=weekend)
    d = route(facts(), RULES, teams(main, other), SATURDAY_NIGHT)
    assert (d.status, d.team_id, d.overflowed_from) == ("queued", "weekend", ("main",))
    assert d.callback_at == datetime(2026, 3, 8, 9, 0, tzinfo=CHI)


def test_emergency_goes_to_urgent_team_regardless_of_rules() -> None:
    main = team("main", member("a"), sla_minutes={"emergency": 30})
    triage = team("triage", member("rn"), is_urgent_team=True, sla_minutes={"emergency": 5})
    slow = team("slow", member("s"), is_urgent_team=True, sla_minutes={"emergency": 15})
    d = route(
        facts(emergency=True, service="orthopedics"), RULES, teams(main, triage, slow), MONDAY
    )
    assert (d.team_id, d.member_id, d.rule_id, d.emergency) == ("triage", "rn", None, True)
    assert d.sla_due_at == MONDAY + timedelta(minutes=5)
    trace = d.trace.to_json()
    assert (trace["urgent_team_id"], trace["rules"]) == ("triage", [])


@pytest.mark.parametrize(
    ("items", "expected"),
    [
        ((team("a", sla_minutes={"emergency": 5}), team("b", sla_minutes={"emergency": 3})), "b"),
        (
            (
                team("a", sla_minutes={"emergency": 5}, is_urgent_team=True),
                team("b", sla_minutes={"emergency": 3}),
            ),
            "a",
        ),
        ((team("b", is_urgent_team=True), team("a", is_urgent_team=True)), "a"),
        ((team("a"),), None),
    ],
)
def test_urgent_team_selection(items: tuple[TeamState, ...], expected: str | None) -> None:
    chosen = urgent_team(teams(*items))
    assert (chosen.team_id if chosen else None) == expected


def test_emergency_without_urgent_team_uses_rules() -> None:
    t = team("main", member("a"))
    d = route(facts(emergency=True), RULES, teams(t), MONDAY)
    assert (d.team_id, d.rule_id) == ("main", "ortho-open")
    assert d.trace.notes


def test_trace_content_is_complete_and_json_able() -> None:
    main = team(
        "main", member("a", status="away"), member("b"), hours=OFFICE, sla_minutes={"default": 30}
    )
    d = route(facts(service="cardiology", language="en"), RULES, teams(main), MONDAY)
    trace = json.loads(json.dumps(d.to_json()))["trace"]
    assert trace["ruleset_version"] == 3
    assert trace["rules"] == [
        {
            "rule_id": "ortho",
            "name": "ortho",
            "team_id": "ortho",
            "matched": False,
            "conditions": [
                {
                    "field": "service",
                    "op": "eq",
                    "expected": "orthopedics",
                    "actual": "cardiology",
                    "matched": False,
                }
            ],
        },
        {
            "rule_id": "ortho-open",
            "name": "ortho-open",
            "team_id": "main",
            "matched": True,
            "conditions": [
                {
                    "field": "team_open",
                    "op": "is_true",
                    "expected": None,
                    "actual": True,
                    "matched": True,
                }
            ],
        },
    ]
    (step,) = trace["teams"]
    assert step["strategy"] == "round_robin" and step["chosen_member_id"] == "b"
    assert [c["skipped"] for c in step["candidates"]] == ["away", None]
    assert trace["choice"] == {
        "status": "assigned",
        "team_id": "main",
        "member_id": "b",
        "sticky": False,
        "callback_at": None,
    }
    assert d.sla_due_at == MONDAY + timedelta(minutes=30)
    assert d.sla_due_at is not None and d.sla_due_at.tzinfo is UTC


def test_rule_team_not_loaded_is_an_error() -> None:
    with pytest.raises(RoutingError):
        route(facts(service="orthopedics"), RULES, teams(team("main", member("a"))), MONDAY)


def test_naive_now_rejected() -> None:
    with pytest.raises(ValueError):
        route(facts(), RULES, teams(team("main", member("a"))), datetime(2026, 3, 2))


def test_route_is_deterministic() -> None:
    t = team(
        "main",
        member("a", weight=2),
        member("b"),
        strategy="weighted",
        rotation=RotationState(position=9, credits={"a": -1, "b": 1, "gone": 3}),
    )
    first = route(facts(), RULES, teams(t), MONDAY)
    assert first == route(facts(), RULES, teams(t), MONDAY)
    # Credits a: -1 + 2 = 1, b: 1 + 1 = 2 -> b; the departed member's credit is dropped.
    assert first.member_id == "b"
    assert first.new_rotation.credits == {"a": 1, "b": -1}
