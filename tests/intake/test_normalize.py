from __future__ import annotations

from typing import Any

import pytest
import zipcodes

from app.leads.canonical import CanonicalLead
from app.leads.normalize import (
    FLAG_EMAIL_INVALID,
    FLAG_NAME_MISSING,
    FLAG_NO_VALID_CONTACT,
    FLAG_PHONE_INVALID,
    FLAG_PHONE_UNVERIFIED,
    FLAG_ZIP_UNKNOWN,
    lookup_zip,
    normalize,
    normalize_email,
    normalize_names,
    normalize_phone,
    state_code,
    zip5,
)


def _lead(**fields: Any) -> CanonicalLead:
    fields.setdefault("phone", "+1 773-555-0119")
    return CanonicalLead.model_validate(fields)


def test_acceptance_case() -> None:
    result = normalize(_lead(postal_code="60647", full_name="Jordan Lee"))
    assert result.phone_e164 == "+17735550119"
    assert result.phone_valid is True
    assert (result.state, result.city, result.time_zone) == ("IL", "Chicago", "America/Chicago")
    assert result.latitude is not None and result.longitude is not None
    assert result.flags == ()


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("+1 773-555-0119", "+17735550119"),
        ("(773) 555-0119", "+17735550119"),
        ("773.555.0119", "+17735550119"),
        ("1-773-555-0119", "+17735550119"),
        ("+44 20 7946 0958", "+442079460958"),
    ],
)
def test_phone_to_e164(raw: str, e164: str) -> None:
    assert normalize_phone(raw).e164 == e164


@pytest.mark.parametrize("raw", ["12", "not a phone", "+1 773 555", "", "   "])
def test_impossible_phones_have_no_e164(raw: str) -> None:
    result = normalize_phone(raw)
    assert (result.e164, result.possible) == (None, False)


@pytest.mark.parametrize(
    ("raw", "state"),
    [
        ("+1 305 555 0100", "FL"),
        ("+1 212 555 0100", "NY"),
        ("+1 773 555 0119", "IL"),
        ("+1 405 555 0100", "OK"),
        ("+1 410 555 0100", "MD"),
        ("+1 202 555 0100", "DC"),
        ("+1 787 555 0100", "PR"),
        ("+1 604 555 0100", None),
        ("+1 800 555 0100", None),
        ("+44 20 7946 0958", None),
    ],
)
def test_phone_state_from_area_code(raw: str, state: str | None) -> None:
    assert normalize_phone(raw).state == state


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("Florida", "FL"),
        ("chicago, IL", "IL"),
        ("New York, NY", "NY"),
        ("il", "IL"),
        ("  New   Hampshire ", "NH"),
        ("Washington D.C.", "DC"),
        ("British Columbia", None),
        ("", None),
        (None, None),
    ],
)
def test_state_code(value: str | None, code: str | None) -> None:
    assert state_code(value) == code


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("Joe@Example.COM", "joe@example.com"),
        ("  jane.doe@example.org ", "jane.doe@example.org"),
        ("bad@@example.com", None),
        ("no-at-sign", None),
        ("x@localhost", None),
    ],
)
def test_email(raw: str, normalized: str | None) -> None:
    assert normalize_email(raw) == normalized


@pytest.mark.parametrize(
    ("first", "last", "full", "expected"),
    [
        (None, None, "  Maria   Gonzalez ", ("Maria", "Gonzalez", "Maria Gonzalez")),
        (None, None, "Juan de la Cruz", ("Juan", "de la Cruz", "Juan de la Cruz")),
        (None, None, "Cher", ("Cher", None, "Cher")),
        (" Maria ", "Gonzalez", None, ("Maria", "Gonzalez", "Maria Gonzalez")),
        ("Maria", None, None, ("Maria", None, "Maria")),
        ("Maria", "Gonzalez", "Maria G.", ("Maria", "Gonzalez", "Maria G.")),
        ("  ", None, "", (None, None, None)),
    ],
)
def test_names(
    first: str | None,
    last: str | None,
    full: str | None,
    expected: tuple[str | None, str | None, str | None],
) -> None:
    assert normalize_names(first, last, full) == expected


@pytest.mark.parametrize(
    ("raw", "code"),
    [("60647", "60647"), ("60647-1234", "60647"), ("606471234", "60647"), ("6064", None),
     ("ABCDE", None), ("K1A 0B1", None)],
)  # fmt: skip
def test_zip5(raw: str, code: str | None) -> None:
    assert zip5(raw) == code


def test_zip_lookup_is_cached() -> None:
    first = lookup_zip("33101")
    hits = lookup_zip.cache_info().hits
    assert lookup_zip("33101") is first
    assert lookup_zip.cache_info().hits == hits + 1
    assert first is not None and first.state == "FL"


@pytest.mark.parametrize(
    "code", ["33101", "60647", "60647-1234", "00501", "00901", "96799", "99950", "10001"]
)
def test_zip_index_answers_as_the_package_scan(code: str) -> None:
    # The index replaced a scan of the whole table per ZIP; the answers must not change.
    row = zipcodes.matching(code[:5])[0]
    info = lookup_zip(code)
    assert info is not None
    assert (info.postal_code, info.city, info.state, info.time_zone) == (
        code[:5],
        row["city"],
        row["state"],
        row["timezone"] or None,
    )
    assert (info.latitude, info.longitude) == (float(row["lat"]), float(row["long"]))


@pytest.mark.parametrize("code", ["00000", "99999", "6064", "ABCDE"])
def test_unknown_zip_has_no_lookup(code: str) -> None:
    assert lookup_zip(code) is None


@pytest.mark.parametrize(
    ("fields", "flags"),
    [
        ({"full_name": "A B", "phone": "12"}, {FLAG_PHONE_INVALID, FLAG_NO_VALID_CONTACT}),
        ({"full_name": "A B", "email": "bad@@x"}, {FLAG_EMAIL_INVALID}),
        ({"full_name": "A B", "phone": "+1 123 456 7890"}, {FLAG_PHONE_UNVERIFIED}),
        ({"full_name": "A B", "postal_code": "00000"}, {FLAG_ZIP_UNKNOWN}),
        ({"full_name": "A B", "postal_code": "not a zip"}, {FLAG_ZIP_UNKNOWN}),
        ({}, {FLAG_NAME_MISSING}),
        ({"full_name": "A B", "postal_code": "60647-1234"}, set()),
    ],
)
def test_flags(fields: dict[str, Any], flags: set[str]) -> None:
    assert set(normalize(_lead(**fields)).flags) == flags


def test_unverified_phone_keeps_e164() -> None:
    result = normalize(_lead(phone="+1 123 456 7890", full_name="A B"))
    assert (result.phone_e164, result.phone_valid) == ("+11234567890", True)


def test_invalid_values_are_kept_raw() -> None:
    result = normalize(CanonicalLead(phone="12", email="bad@@x", postal_code="nope"))
    assert (result.phone_raw, result.email_raw) == ("12", "bad@@x")
    assert (result.phone_e164, result.email_normalized, result.postal_code) == (None, None, None)
    assert (result.phone_valid, result.email_valid) == (False, False)


def test_address_used_when_zip_unknown() -> None:
    lead = _lead(postal_code="00000", address={"city": " Tulsa ", "state": "Oklahoma"})
    result = normalize(lead)
    assert (result.city, result.state, result.time_zone) == ("Tulsa", "OK", None)


def test_zip_wins_over_address() -> None:
    result = normalize(_lead(postal_code="60647", address={"city": "Chi", "state": "Illinois"}))
    assert (result.city, result.state) == ("Chicago", "IL")
