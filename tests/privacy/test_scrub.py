"""What erasure keeps of a lead's clear-text columns: table-driven on the pure core."""

from __future__ import annotations

from typing import Any

import pytest

from app.privacy import scrub


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("60647", "606"),
        ("60647-1234", "606"),
        ("03601", "000"),  # a ZIP3 of 20,000 people or fewer (Safe Harbor)
        ("89301", "000"),
        ("12", None),
        ("", None),
        (None, None),
    ],
)
def test_zip3(given: str | None, kept: str | None) -> None:
    assert scrub.zip3(given) == kept


def test_attribution_keeps_campaign_codes_only() -> None:
    given = {
        "source": "partner",
        "utm_source": "referral-network",
        "utm_campaign": "spring",
        "campaign_id": "123",
        "gclid": "Cj0KCQ-one-click",
        "fbclid": "IwAR-one-click",
        "landing_page_url": "https://x.example/?email=a@b.c",
        "referrer": "https://mail.example/inbox",
    }
    assert scrub.attribution(given) == {
        "source": "partner",
        "utm_source": "referral-network",
        "utm_campaign": "spring",
        "campaign_id": "123",
    }
    assert scrub.attribution(None) == {}


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        (
            {"service_match": {"code": "ortho", "status": "matched", "matched_phrase": "knee",
                               "matched_text": "my knee hurts"}},
            {"service_match": {"code": "ortho", "status": "matched"}},
        ),
        (
            {"score_breakdown": [{"factor": "service", "points": 30, "evidence": "'knee'"}]},
            {"score_breakdown": [{"factor": "service", "points": 30}]},
        ),
        (
            {"not_qualified_reasons": [{"code": "insurance", "message": "Acme Gold not taken"}]},
            {"not_qualified_reasons": [{"code": "insurance"}]},
        ),
        # before concept codes, red flags quoted the phrase: it goes
        ({"red_flags": ["chest pain"], "urgency_evidence": ["since yesterday"]},
         {"red_flags": []}),
        # concept codes are ours, not the person's: they stay (the words are in `pii`)
        ({"red_flags": ["cardiac.chest_pain", "custom.red_flag"],
          "concepts": [{"code": "cardiac.chest_pain", "level": "emergency",
                        "words": "crushing pain"}]},
         {"red_flags": ["cardiac.chest_pain", "custom.red_flag"],
          "concepts": [{"code": "cardiac.chest_pain", "level": "emergency"}]}),
        ({"inputs": {"consent_checked": True}}, {}),
        ({"location_match": {"location_id": "l1", "distance_miles": 3.2}},
         {"location_match": {"location_id": "l1", "distance_miles": 3.2}}),
        # a field added later: numbers and flags stay, text goes
        ({"new_score": 4, "flag": True, "note": "free text", "words": ["pain"]},
         {"new_score": 4, "flag": True}),
    ],
)  # fmt: skip
def test_assessment_keeps_codes_and_points(given: dict[str, Any], kept: dict[str, Any]) -> None:
    assert scrub.assessment(given) == kept


@pytest.mark.parametrize(
    ("trace", "kept"),
    [
        (None, {}),
        ({"team_id": "t"}, {"team_id": "t"}),
        # a reassignment recorded with its reason in the trace loses the reason, not the move
        ({"events": [{"type": "reassign", "reason": "Maria asked for Ben", "to": {"m": 1}}]},
         {"events": [{"type": "reassign", "to": {"m": 1}}]}),
        ({"events": [{"type": "reassign", "id": "e1", "to": {}}, "odd"]},
         {"events": [{"type": "reassign", "id": "e1", "to": {}}, "odd"]}),
    ],
)  # fmt: skip
def test_erasure_keeps_routing_moves_without_their_free_text(
    trace: dict[str, object] | None, kept: dict[str, object]
) -> None:
    assert scrub.routing_trace(trace) == kept
