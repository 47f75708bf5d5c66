from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from app.scoring.core import (
    EMERGENCY_INSTRUCTION,
    SCORING_VERSION,
    ScoringSettings,
    compile_practice,
    decide,
)
from app.scoring.points import band_for
from tests.scoring.practice import (
    NAPERVILLE,
    ORTHO,
    PRACTICE,
    SETTINGS,
    SLEEP,
    STREETERVILLE,
    lead,
    practice,
)


def test_knee_pain_doctor_near_streeterville() -> None:
    result = decide(lead("60610", service_text="knee pain doctor"), PRACTICE)
    assert (result.service.code, result.service.matched_phrase) == ("orthopedics", "knee pain")
    assert (result.location.location_id, result.location.in_service_area) == (
        "loc-streeterville",
        True,
    )
    assert (result.qualified, result.not_qualified_reasons, result.urgency) == (
        True,
        (),
        "routine",
    )
    evidence = {f.name: (f.points, f.evidence) for f in result.score.factors}
    assert evidence == {
        "service": (30, "service matched a listed phrase → orthopedics: +30"),
        "location": (20, "Streeterville (nearest, 0.72 mi), service area inside: +20"),
        "urgency": (5, "routine (no urgency signal): +5"),
        "contactability": (15, "valid phone +10, valid email +5: +15"),
        "eligibility": (15, "qualified: +15"),
        "consent": (5, "consent given: +5"),
    }
    assert (result.score.total, result.score.band) == (90, "hot")
    assert (result.score.version, result.score.settings_version) == (SCORING_VERSION, "org-7")
    assert result.route_hint == "standard"


def test_same_input_gives_identical_output() -> None:
    facts = lead("60563", service_text="slep apnea", reason_text="snoring, this week")
    again = compile_practice((SLEEP, ORTHO), (NAPERVILLE, STREETERVILLE), SETTINGS)
    assert decide(facts, PRACTICE) == decide(facts, PRACTICE) == decide(facts, again)


def test_crushing_chest_pain_is_an_emergency_with_the_safety_instruction() -> None:
    result = decide(
        lead(service_text=None, reason_text="crushing chest pain since this morning"), PRACTICE
    )
    assert (result.urgency, result.emergency) == ("emergency", True)
    assert result.safety_instruction == EMERGENCY_INSTRUCTION
    assert result.route_hint == "urgent_team"
    assert result.service.status == "unmatched"  # still kept, still has a location
    assert result.location.location_id == "loc-streeterville"


def test_insurance_not_taken_is_not_qualified_but_routed() -> None:
    result = decide(lead(insurance_plan="Humana"), PRACTICE)
    assert not result.qualified
    assert [r.code for r in result.not_qualified_reasons] == ["insurance_not_accepted"]
    assert result.location.location_id == "loc-streeterville"
    eligibility = next(f for f in result.score.factors if f.name == "eligibility")
    assert (eligibility.points, eligibility.evidence) == (
        0,
        "not qualified (insurance_not_accepted): +0",
    )


@pytest.mark.parametrize(
    ("zip_code", "overrides", "total", "band"),
    [
        ("60610", {}, 90, "hot"),
        ("60610", {"service_text": "kne pain"}, 85, "hot"),  # fuzzy: 30 x 0.83
        ("60610", {"requested_timeframe": "asap"}, 100, "hot"),
        ("60610", {"phone_valid": False}, 80, "hot"),
        ("60610", {"has_phone": False, "has_email": False}, 75, "hot"),
        ("60610", {"consent_checked": False, "email_valid": False}, 80, "hot"),
        ("60610", {"service_text": "acne"}, 45, "warm"),
        ("53202", {}, 55, "warm"),  # 69 mi beyond the area: no distance points, not qualified
        ("60610", {"insurance_plan": "Humana", "phone_valid": False}, 65, "warm"),
        (
            "60610",
            {"service_text": "acne", "has_phone": False, "has_email": False},
            30,
            "cold",
        ),
        (None, {"postal_code": None, "service_text": "hello"}, 25, "cold"),
    ],
)
def test_score_table(
    zip_code: str | None, overrides: dict[str, Any], total: int, band: str
) -> None:
    score = decide(lead(zip_code, **overrides), PRACTICE).score
    assert (score.total, score.band) == (total, band)
    assert score.total == sum(f.points for f in score.factors)
    assert all(0 <= f.points <= f.max_points for f in score.factors)


def test_out_of_area_points_fall_with_distance() -> None:
    near_edge = dataclasses.replace(STREETERVILLE, service_radius_miles=0.5)
    location = next(
        f for f in decide(lead("60610"), practice(near_edge)).score.factors if f.name == "location"
    )
    # 0.72 mi against a 0.5 mi radius: half the weight, less a sliver for the overshoot.
    assert location.points == 10
    assert "service area outside" in location.evidence


def test_custom_weights_and_thresholds() -> None:
    settings = ScoringSettings(
        weights={
            "service": 50,
            "location": 10,
            "urgency": 10,
            "contactability": 10,
            "eligibility": 20,
            "consent": 0,
        },
        hot_threshold=95,
        warm_threshold=50,
    )
    score = decide(lead(), practice(settings=settings)).score
    assert (score.total, score.band) == (93, "warm")
    assert score.settings_version == "default"


def test_evidence_never_quotes_the_person() -> None:
    facts = lead(
        reason_text="Jane Doe 312-555-0100 jane@example.com torn acl, crushing chest pain",
        service_text=None,
    )
    result = decide(facts, PRACTICE)
    text = " ".join((*result.urgency_evidence, *(f.evidence for f in result.score.factors)))
    assert "orthopedics" in text and "cardiac.chest_pain" in text
    for secret in ("Jane", "555", "example", "torn", "acl", "chest pain", "crushing"):
        assert secret not in text
    # the words live in the hits, which are stored encrypted
    assert result.service.matched_text == "torn acl"
    assert [h.words for h in result.concepts] == ["crushing chest pain"]


@pytest.mark.parametrize(
    ("total", "band"),
    [(100, "hot"), (70, "hot"), (69, "warm"), (40, "warm"), (39, "cold"), (0, "cold")],
)
def test_band_thresholds(total: int, band: str) -> None:
    assert band_for(total, ScoringSettings()) == band


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (ScoringSettings(weights={"service": 60}), "add up to 100"),
        (ScoringSettings(weights={"service": 90, "vibes": 10}), "unknown weight names: vibes"),
        (ScoringSettings(weights={"service": 110, "consent": -10}), "must not be negative"),
        (ScoringSettings(hot_threshold=30, warm_threshold=60), "thresholds"),
        (ScoringSettings(duplicate_window_hours=0), "duplicate window"),
    ],
)
def test_unusable_settings_are_refused(settings: ScoringSettings, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        compile_practice((ORTHO,), (STREETERVILLE,), settings)


@pytest.mark.parametrize(
    ("services", "locations", "message"),
    [
        ((ORTHO, dataclasses.replace(SLEEP, code="Orthopedics")), (STREETERVILLE,), "unique"),
        ((ORTHO,), (STREETERVILLE, STREETERVILLE), "location ids"),
        ((ORTHO,), (dataclasses.replace(STREETERVILLE, latitude=91.0),), "coordinates"),
    ],
)
def test_unusable_definitions_are_refused(
    services: tuple[Any, ...], locations: tuple[Any, ...], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        compile_practice(services, locations)


def test_fuzzy_evidence_names_the_service_not_the_persons_words() -> None:
    facts = lead(service_text="kne pain", reason_text=None)
    result = decide(facts, PRACTICE)
    text = " ".join(f.evidence for f in result.score.factors)
    assert "approximately" in text and "orthopedics" in text and "kne" not in text
    assert (result.service.matched_phrase, result.service.matched_text) == ("knee pain", "kne pain")
