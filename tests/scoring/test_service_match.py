from __future__ import annotations

import pytest

from app.scoring.core import match_service
from tests.scoring.practice import PRACTICE, lead


@pytest.mark.parametrize(
    ("text", "code", "method", "phrase"),
    [
        ("knee pain doctor", "orthopedics", "exact", "knee pain"),
        ("Torn ACL!!", "orthopedics", "exact", "torn acl"),
        ("I think I have an ACL tear", "orthopedics", "exact", "acl tear"),
        ("KNEE-PAIN", "orthopedics", "exact", "knee pain"),
        ("both knees hurt", "orthopedics", "exact", "knee"),
        ("sports injuries", "orthopedics", "exact", "sports injury"),
        ("Orthopedics consult", "orthopedics", "exact", "Orthopedics"),
        ("sleep-medicine", "sleep-medicine", "exact", "Sleep Medicine"),
        ("my husband's snoring", "sleep-medicine", "exact", "snoring"),
        ("need a new CPAP mask", "sleep-medicine", "exact", "cpap"),
        ("obstructive sleep apnea", "sleep-medicine", "exact", "obstructive sleep apnea"),
        ("knee replacement consult", "orthopedics", "exact", "knee replacement"),
        ("kne pain", "orthopedics", "fuzzy", "knee pain"),
        ("hip pian", "orthopedics", "fuzzy", "hip pain"),
        ("joint replacment", "orthopedics", "fuzzy", "joint replacement"),
        ("slep apnea", "sleep-medicine", "fuzzy", "sleep apnea"),
        ("sleep apena", "sleep-medicine", "fuzzy", "sleep apnea"),
        ("snorring every night", "sleep-medicine", "fuzzy", "snoring"),
        ("insomnai", "sleep-medicine", "fuzzy", "insomnia"),
        ("Rotator cuf tear", "orthopedics", "fuzzy", "rotator cuff"),
        ("not knee pain, it's the snoring", "sleep-medicine", "exact", "snoring"),
    ],
)
def test_free_text_matches_a_service(text: str, code: str, method: str, phrase: str) -> None:
    match = match_service(lead(service_text=text), PRACTICE)
    assert (match.status, match.code, match.method, match.matched_phrase) == (
        "matched",
        code,
        method,
        phrase,
    )
    if method == "exact":
        assert match.confidence == 0.95
    else:
        assert 0.6 < match.confidence < 0.95


@pytest.mark.parametrize(
    "text",
    [
        "pain",  # a phrase's last word alone is not the phrase
        "kneel",  # a whole word plus a suffix is another word, not a typo
        "I kneel to pray",
        "hop pain",  # 3-letter words match exactly or not at all
        "sleep",
        "acne on my back",
        "",
        "   ...   ",
        "hip, pain",  # phrases never span punctuation
        "no back pain",
    ],
)
def test_text_without_a_service_phrase_is_unmatched(text: str) -> None:
    match = match_service(lead(service_text=text), PRACTICE)
    assert (match.status, match.code, match.method, match.confidence) == (
        "unmatched",
        None,
        "none",
        0.0,
    )


@pytest.mark.parametrize(
    ("code", "text", "expected"),
    [
        ("orthopedics", "snoring", "orthopedics"),
        ("Sleep_Medicine", None, "sleep-medicine"),
        (" ORTHOPEDICS ", "", "orthopedics"),
    ],
)
def test_known_service_code_wins_over_text(code: str, text: str | None, expected: str) -> None:
    match = match_service(lead(service_code=code, service_text=text), PRACTICE)
    assert (match.code, match.method, match.confidence) == (expected, "code", 1.0)


def test_unknown_service_code_falls_back_to_text() -> None:
    match = match_service(lead(service_code="dermatology", service_text="torn acl"), PRACTICE)
    assert (match.code, match.method) == ("orthopedics", "exact")


def test_reason_text_fills_in_when_the_service_field_says_nothing() -> None:
    facts = lead(service_text="appointment", reason_text="loud snoring and gasping at night")
    match = match_service(facts, PRACTICE)
    assert (match.code, match.matched_phrase) == ("sleep-medicine", "snoring")


def test_service_field_beats_reason_text_and_others_are_reported() -> None:
    facts = lead(service_text="knee pain", reason_text="also snoring a lot")
    match = match_service(facts, PRACTICE)
    assert match.code == "orthopedics"
    assert match.other_codes == ("sleep-medicine",)


def test_longest_phrase_wins_inside_one_service() -> None:
    match = match_service(lead(service_text="knee pain"), PRACTICE)
    assert match.matched_phrase == "knee pain"
