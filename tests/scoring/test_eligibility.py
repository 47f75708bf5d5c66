from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any

import pytest

from app.scoring.core import decide
from app.scoring.definitions import LeadFacts
from app.scoring.eligibility import age_years
from tests.scoring.practice import NAPERVILLE, PRACTICE, STREETERVILLE, lead, practice

CLOSED = dataclasses.replace(STREETERVILLE, accepts_new_patients=False)
TEENS = dataclasses.replace(STREETERVILLE, min_age=12, max_age=17)


@pytest.mark.parametrize(
    ("overrides", "codes"),
    [
        ({}, []),
        ({"insurance_plan": "Humana Gold"}, ["insurance_not_accepted"]),
        ({"insurance_plan": "Blue Cross Blue Shield of Illinois PPO"}, []),
        ({"insurance_plan": "blue-cross BLUE shield"}, []),
        ({"insurance_plan": None}, []),  # not given: unchecked, not held against the lead
        ({"language": "Vietnamese"}, ["language_not_spoken"]),
        ({"language": "Spanish"}, []),
        ({"language": "es-MX"}, []),
        ({"language": "Español"}, []),
        ({"age": 12}, ["age_out_of_range"]),
        ({"age": 18}, []),
        (
            {"age": None, "date_of_birth": date(2006, 6, 2), "as_of": date(2024, 6, 1)},
            ["age_out_of_range"],
        ),
        ({"age": None, "date_of_birth": date(2006, 6, 1), "as_of": date(2024, 6, 1)}, []),
        ({"age": None, "date_of_birth": date(2006, 6, 2)}, []),  # no as_of: age unknown
        ({"service_text": "acne"}, ["service_unmatched"]),
        ({"zip_code": "53202"}, ["outside_service_area"]),
        (
            {"insurance_plan": "Humana", "language": "Korean", "age": 9},
            ["insurance_not_accepted", "language_not_spoken", "age_out_of_range"],
        ),
    ],
)
def test_eligibility_reasons_at_streeterville(overrides: dict[str, Any], codes: list[str]) -> None:
    zip_code = overrides.pop("zip_code", "60610")
    result = decide(lead(zip_code, **overrides), PRACTICE)
    assert [r.code for r in result.not_qualified_reasons] == codes
    assert result.qualified is (not codes)
    assert result.location.location_id == "loc-streeterville"  # kept and routed, never dropped


def test_insurance_reason_names_plan_and_location() -> None:
    result = decide(lead(insurance_plan="Humana Gold"), PRACTICE)
    (reason,) = result.not_qualified_reasons
    assert reason.message == "Streeterville does not accept the insurance plan 'Humana Gold'."
    assert result.route_hint == "nurture"


@pytest.mark.parametrize(
    ("new_patient", "codes"),
    [
        (True, ["not_accepting_new_patients"]),
        (None, ["not_accepting_new_patients"]),  # leads are new patients unless told otherwise
        (False, []),
    ],
)
def test_new_patient_acceptance(new_patient: bool | None, codes: list[str]) -> None:
    result = decide(lead(new_patient=new_patient), practice(CLOSED))
    assert [r.code for r in result.not_qualified_reasons] == codes


@pytest.mark.parametrize(("age", "ok"), [(11, False), (12, True), (17, True), (18, False)])
def test_age_range_bounds_are_inclusive(age: int, ok: bool) -> None:
    assert decide(lead(age=age), practice(TEENS)).qualified is ok


@pytest.mark.parametrize(
    ("plans", "plan", "ok"),
    [
        (None, "Anything At All", True),
        (("All",), "Humana", True),
        (("Cigna",), "Aetna", False),
        ((), "Aetna", False),  # an empty list accepts nothing
    ],
)
def test_insurance_lists(plans: tuple[str, ...] | None, plan: str, ok: bool) -> None:
    loc = dataclasses.replace(STREETERVILLE, insurance_accepted=plans)
    assert decide(lead(insurance_plan=plan), practice(loc)).qualified is ok


def test_unlisted_languages_are_not_checked() -> None:
    loc = dataclasses.replace(NAPERVILLE, languages=())
    assert decide(lead("60540", language="Tagalog"), practice(loc)).qualified


def test_polish_matches_a_location_listing_it_by_name() -> None:
    assert decide(lead("60540", language="pl"), PRACTICE).qualified


@pytest.mark.parametrize(
    ("dob", "as_of", "age"),
    [
        (date(2000, 3, 1), date(2024, 2, 29), 23),
        (date(2000, 3, 1), date(2024, 3, 1), 24),
        (date(2004, 2, 29), date(2023, 2, 28), 18),
        (date(2004, 2, 29), date(2023, 3, 1), 19),
        (date(2030, 1, 1), date(2024, 1, 1), None),
    ],
)
def test_age_from_date_of_birth(dob: date, as_of: date, age: int | None) -> None:
    assert age_years(LeadFacts(date_of_birth=dob, as_of=as_of)) == age
