from __future__ import annotations

from typing import Any

import pytest

from app.scoring.core import CRISIS_INSTRUCTION, EMERGENCY_INSTRUCTION, decide
from tests.scoring.practice import PRACTICE, lead

BOTH = f"{EMERGENCY_INSTRUCTION} {CRISIS_INSTRUCTION}"


@pytest.mark.parametrize(
    ("text", "flags", "instruction"),
    [
        ("crushing chest pain since this morning", ("chest pain",), EMERGENCY_INSTRUCTION),
        ("Crushing CHEST-PAIN!!", ("chest pain",), EMERGENCY_INSTRUCTION),
        ("chest pains when I climb stairs", ("chest pain",), EMERGENCY_INSTRUCTION),
        ("no fever but chest pain", ("chest pain",), EMERGENCY_INSTRUCTION),
        ("no fever, chest pain", ("chest pain",), EMERGENCY_INSTRUCTION),
        ("no sleep for days and now chest pain", ("chest pain",), EMERGENCY_INSTRUCTION),
        ("I can't breathe when lying down", ("can't breathe",), EMERGENCY_INSTRUCTION),
        ("I cannot breathe", ("cannot breathe",), EMERGENCY_INSTRUCTION),
        ("not sure if it was a stroke", ("stroke",), EMERGENCY_INSTRUCTION),
        (
            "face drooping and slurred speech",
            ("face drooping", "slurred speech"),
            EMERGENCY_INSTRUCTION,
        ),
        ("had seizures last night", ("seizure",), EMERGENCY_INSTRUCTION),
        ("I passed out twice", ("passed out",), EMERGENCY_INSTRUCTION),
        ("took an overdose of pills", ("overdose",), EMERGENCY_INSTRUCTION),
        ("I have been feeling suicidal", ("suicidal",), CRISIS_INSTRUCTION),
        ("thinking about suicide", ("suicide",), CRISIS_INSTRUCTION),
        ("I want to kill myself", ("kill myself",), CRISIS_INSTRUCTION),
        ("history of self-harm", ("self-harm",), CRISIS_INSTRUCTION),
        ("chest pain and thoughts of suicide", ("chest pain", "suicide"), BOTH),
        ("sudden numbness in both legs", ("numbness in both legs",), EMERGENCY_INSTRUCTION),
        ("fell, bone sticking out of my shin", ("bone sticking out",), EMERGENCY_INSTRUCTION),
    ],
)
def test_red_flag_inside_longer_text_is_an_emergency(
    text: str, flags: tuple[str, ...], instruction: str
) -> None:
    result = decide(lead(reason_text=text), PRACTICE)
    assert (result.urgency, result.emergency, result.red_flags) == ("emergency", True, flags)
    assert result.safety_instruction == instruction
    assert result.route_hint == "urgent_team"


@pytest.mark.parametrize(
    "text",
    [
        "no chest pain",
        "Denies chest pain.",
        "not suicidal, just tired all day",
        "without shortness of breath",
        "no chest pain or shortness of breath",
        "never had a seizure",
        "knee pain after a fall",
        "best pain relief for my chest",
        "my snoring keeps everyone awake",
        "",
    ],
)
def test_no_false_red_flag(text: str) -> None:
    result = decide(lead(reason_text=text), PRACTICE)
    assert (result.emergency, result.red_flags, result.safety_instruction) == (False, (), None)
    assert result.urgency != "emergency"


def test_red_flag_in_service_field_counts_too() -> None:
    result = decide(lead(service_text="insomnia", reason_text=None), PRACTICE)
    assert not result.emergency
    result = decide(lead(service_text="insomnia and suicidal thoughts"), PRACTICE)
    assert result.red_flags == ("suicidal",)
    assert result.service.code == "sleep-medicine"


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({}, "routine"),
        ({"urgency_field": "urgent"}, "urgent"),
        ({"urgency_field": "High"}, "urgent"),
        ({"urgency_field": "medium"}, "soon"),
        ({"urgency_field": "whenever"}, "routine"),
        ({"requested_timeframe": "asap"}, "urgent"),
        ({"requested_timeframe": "this_week"}, "soon"),
        ({"requested_timeframe": "next-month"}, "routine"),
        ({"urgency_field": "routine", "requested_timeframe": "This week"}, "soon"),
        ({"reason_text": "need to be seen this week"}, "soon"),
        ({"reason_text": "as soon as possible please"}, "urgent"),
        ({"reason_text": "knee gave out, can't walk"}, "urgent"),
        ({"reason_text": "fell asleep driving yesterday"}, "urgent"),
        ({"reason_text": "not urgent, whenever works"}, "routine"),
        ({"urgency_field": "low", "reason_text": "crushing chest pain"}, "emergency"),
    ],
)
def test_urgency_takes_the_highest_signal(overrides: dict[str, Any], expected: str) -> None:
    assert decide(lead(**overrides), PRACTICE).urgency == expected


def test_explicit_emergency_field_carries_the_911_instruction() -> None:
    result = decide(lead(urgency_field="Emergency"), PRACTICE)
    assert (result.emergency, result.red_flags) == (True, ())
    assert result.safety_instruction == EMERGENCY_INSTRUCTION


def test_urgency_evidence_names_each_signal() -> None:
    facts = lead(requested_timeframe="this_week", reason_text="chest pain, can't walk")
    evidence = decide(facts, PRACTICE).urgency_evidence
    assert evidence == (
        "requested timeframe 'this_week' → soon",
        "phrase 'can't walk' → urgent",
        "red flag 'chest pain' → emergency",
    )
