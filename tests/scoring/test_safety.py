"""Emergencies, crises and urgency in people's own words: every phrase quoted in the triage
issue, and the rules behind them, table-driven on the pure core."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from app.scoring.concepts import ConceptDef
from app.scoring.core import CRISIS_INSTRUCTION, EMERGENCY_INSTRUCTION, compile_practice, decide
from app.scoring.safety import CRISIS_INSTRUCTION_ES, EMERGENCY_INSTRUCTION_ES
from tests.scoring.practice import ORTHO, PRACTICE, SETTINGS, SLEEP, STREETERVILLE, lead

BOTH = f"{EMERGENCY_INSTRUCTION} {CRISIS_INSTRUCTION}"
E911, C988 = EMERGENCY_INSTRUCTION, CRISIS_INSTRUCTION
E911_ES, C988_ES = EMERGENCY_INSTRUCTION_ES, CRISIS_INSTRUCTION_ES


# Emergencies once reported missed, each with what a person expects to be told.
@pytest.mark.parametrize(
    ("text", "concept", "instruction"),
    [
        ("he collapsed and is not breathing", "collapse.unconscious", E911),
        ("my wife is turning blue", "breathing.cyanosis", E911),
        ("crushing pain in my chest going down my left arm", "cardiac.chest_pain", E911),
        ("I think I'm having a heart attack", "cardiac.heart_attack", E911),
        ("my mom's face is drooping on one side and her arm is weak", "stroke.face_droop", E911),
        ("my throat is closing up after eating peanuts", "anaphylaxis.throat", E911),
        ("vomiting blood", "bleeding.vomit_blood", E911),
        ("he's having convulsions", "seizure.seizure", E911),
        ("my child swallowed bleach", "poisoning.ingestion", E911),
        ("took a whole bottle of sleeping pills", "poisoning.ingestion", E911),
        ("I don't want to live anymore", "suicide.ideation", C988),
        ("I'm going to end it all tonight", "suicide.ideation", C988),
        ("sudden worst headache I've ever had", "headache.thunderclap", E911),
        ("my baby has a fever of 104 and is very limp", "infant.fever", E911),
        ("car accident, I can't feel my legs", "trauma.major", E911),
        ("dolor de pecho muy fuerte", "cardiac.chest_pain", E911_ES),
        ("no puedo respirar", "breathing.cant_breathe", E911_ES),
        ("mi esposo no respira", "breathing.not_breathing", E911_ES),
        ("quiero suicidarme", "suicide.ideation", C988_ES),
        ("me quiero morir", "suicide.ideation", C988_ES),
    ],
)
def test_the_issues_missed_emergencies_are_flagged(
    text: str, concept: str, instruction: str
) -> None:
    result = decide(lead(service_text=None, reason_text=text), PRACTICE)
    assert (result.urgency, result.emergency) == ("emergency", True)
    assert result.red_flags[0] == concept
    assert result.safety_instruction == instruction
    assert result.route_hint == "urgent_team"


@pytest.mark.parametrize(
    ("text", "urgency"),
    [
        ("I had a seizure years ago, now looking for a sleep doctor", "routine"),
        ("can I book for next Tuesday?", "routine"),
        ("knee pain when I run", "routine"),
        ("my heart races when I drink coffee", "routine"),
    ],
)
def test_the_issues_false_alarms_are_quiet(text: str, urgency: str) -> None:
    result = decide(lead(service_text=None, reason_text=text), PRACTICE)
    assert (result.emergency, result.urgency, result.safety_instruction) == (False, urgency, None)


@pytest.mark.parametrize(
    ("text", "flags", "instruction"),
    [
        ("crushing chest pain since this morning", ("cardiac.chest_pain",), E911),
        ("Crushing CHEST-PAIN!!", ("cardiac.chest_pain",), E911),
        ("chest pains when I climb stairs", ("cardiac.chest_pain",), E911),
        ("no fever but chest pain", ("cardiac.chest_pain",), E911),
        ("no fever, chest pain", ("cardiac.chest_pain",), E911),
        ("no sleep for days and now chest pain", ("cardiac.chest_pain",), E911),
        ("I can't breathe when lying down", ("breathing.cant_breathe",), E911),
        ("not sure if it was a stroke", ("stroke.stroke",), E911),
        ("face drooping and slurred speech", ("stroke.face_droop", "stroke.speech"), E911),
        ("had seizures last night", ("seizure.seizure",), E911),
        ("I passed out twice", ("collapse.unconscious",), E911),
        ("took an overdose of pills", ("poisoning.ingestion",), E911),
        ("I have been feeling suicidal", ("suicide.ideation",), C988),
        ("I want to kill myself", ("suicide.ideation",), C988),
        ("i keep cutting myself", ("suicide.self_harm",), C988),
        ("chest pain and thoughts of suicide", ("cardiac.chest_pain", "suicide.ideation"), BOTH),
        ("sudden numbness in both legs", ("trauma.major", "custom.red_flag"), E911),
        ("fell, bone sticking out of my shin", ("trauma.major", "custom.red_flag"), E911),
        ("chesst pian", ("cardiac.chest_pain",), E911),
        ("having a siezure", ("seizure.seizure",), E911),
        ("bleeeding wont stop", ("bleeding.heavy",), E911),
    ],
)
def test_concepts_inside_longer_text(text: str, flags: tuple[str, ...], instruction: str) -> None:
    result = decide(lead(reason_text=text), PRACTICE)
    assert (result.urgency, result.emergency, result.red_flags) == ("emergency", True, flags)
    assert result.safety_instruction == instruction


@pytest.mark.parametrize(
    "text",
    [
        "no chest pain",
        "Denies chest pain.",
        "not suicidal, just tired all day",
        "without shortness of breath",
        "no chest pain or shortness of breath",
        "never had a seizure",
        "history of self-harm, doing well",
        "my father had a heart attack at 50",
        "ruled out a heart attack last week",
        "stroke prevention seminar",
        "my husband stops breathing when he sleeps",
        "this knee is killing me",
        "me muero de sueño",
        "sin dolor de pecho ni falta de aire",
        "tuve una convulsión hace años",
        "knee pain after a fall",
        "best pain relief for my chest",
        "my insurance is blue cross blue shield",
        "",
    ],
)
def test_no_false_red_flag(text: str) -> None:
    result = decide(lead(reason_text=text), PRACTICE)
    assert (result.emergency, result.red_flags, result.safety_instruction) == (False, (), None)


def test_the_words_that_triggered_a_concept_and_nothing_more() -> None:
    facts = lead(service_text=None, reason_text="Jane here, crushing pain in my chest, 312-555")
    (hit,) = decide(facts, PRACTICE).concepts
    assert (hit.code, hit.level) == ("cardiac.chest_pain", "emergency")
    assert hit.words == "crushing pain … chest"


def test_red_flag_in_service_field_counts_too() -> None:
    assert not decide(lead(service_text="insomnia", reason_text=None), PRACTICE).emergency
    result = decide(lead(service_text="insomnia and suicidal thoughts"), PRACTICE)
    assert result.red_flags == ("suicide.ideation",)
    assert result.service.code == "sleep-medicine"


@pytest.mark.parametrize(
    ("language", "text", "instruction"),
    [
        ("es", "chest pain", E911_ES),
        ("es-MX", "I want to kill myself", C988_ES),
        ("Spanish", "crushing chest pain", E911_ES),
        (None, "me duele mucho el pecho", E911_ES),
        ("en", "mi esposo no respira", E911_ES),  # the text is Spanish: answered in Spanish
        (None, "chest pain", E911),
    ],
)
def test_instruction_in_the_leads_language(
    language: str | None, text: str, instruction: str
) -> None:
    result = decide(lead(language=language, service_text=None, reason_text=text), PRACTICE)
    assert result.safety_instruction == instruction


def test_the_988_instruction_names_the_spanish_line() -> None:
    assert "988" in C988 and "oprima 2" in C988
    assert "988" in C988_ES and "oprima 2" in C988_ES and "AYUDA" in C988_ES


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
        ({"reason_text": "next Tuesday works"}, "routine"),
        ({"reason_text": "lo antes posible"}, "urgent"),
        ({"reason_text": "por la mañana me duele"}, "routine"),
        ({"urgency_field": "low", "reason_text": "crushing chest pain"}, "emergency"),
    ],
)
def test_urgency_takes_the_highest_signal(overrides: dict[str, Any], expected: str) -> None:
    assert decide(lead(**overrides), PRACTICE).urgency == expected


def test_explicit_emergency_field_carries_the_911_instruction() -> None:
    result = decide(lead(urgency_field="Emergency"), PRACTICE)
    assert (result.emergency, result.red_flags) == (True, ())
    assert result.safety_instruction == EMERGENCY_INSTRUCTION


def test_urgency_evidence_names_codes_never_the_persons_words() -> None:
    facts = lead(requested_timeframe="this_week", reason_text="chest pain, can't walk")
    evidence = decide(facts, PRACTICE).urgency_evidence
    assert evidence == (
        "requested timeframe 'this_week' → soon",
        "concept cardiac.chest_pain → emergency",
        "concept urgency.cant_bear_weight → urgent",
        "concept custom.urgency → urgent",  # the service's own phrase "can't walk"
    )


def test_an_organisation_adds_concepts_and_cannot_weaken_the_built_in_ones() -> None:
    own = ConceptDef("eye.vision_loss", "emergency", ("lost|losing ~2 vision|sight",))
    extra = ConceptDef("cardiac.chest_pain", "emergency", ("ticker ~2 hurts",))
    settings = dataclasses.replace(SETTINGS, red_flag_phrases=(), red_flag_concepts=(own, extra))
    practice = compile_practice((ORTHO, SLEEP), (STREETERVILLE,), settings)
    for text, code in [
        ("losing my vision in my left eye", "eye.vision_loss"),
        ("my ticker hurts", "cardiac.chest_pain"),
        ("crushing chest pain", "cardiac.chest_pain"),  # still there without any phrase
    ]:
        assert decide(lead(reason_text=text), practice).red_flags == (code,)
    # An organisation's concept is screened like the built-in ones.
    assert not decide(lead(reason_text="no vision loss, ever"), practice).emergency
