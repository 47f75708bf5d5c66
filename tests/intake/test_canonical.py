from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from app.leads.canonical import CanonicalLead, npi_is_valid, validation_problems

SECRET_VALUE = "Sensitive-Value-1234"


def _problems(data: dict[str, Any]) -> list[dict[str, str]]:
    with pytest.raises(ValidationError) as info:
        CanonicalLead.model_validate(data)
    return validation_problems(info.value)


def test_full_api_fixture_is_valid(fixture_json: Any) -> None:
    lead = CanonicalLead.model_validate(fixture_json("api_lead.json"))
    assert lead.referral is not None and lead.referral.npi == "1234567893"
    assert lead.consent is not None and lead.consent.channels == ("voice", "sms")
    assert lead.consent.disclosure_text is not None
    assert lead.consent.disclosure_text.endswith("purchase.\n")
    assert "  Consent" in lead.consent.disclosure_text


@pytest.mark.parametrize(
    "data",
    [
        {"phone": "+17735550119"},
        {"email": "a@example.com"},
        {"phone": "", "email": "a@example.com"},
    ],
)
def test_one_contact_point_is_enough(data: dict[str, Any]) -> None:
    assert CanonicalLead.model_validate(data).is_test is False


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({}, "(root)"),
        ({"phone": "  ", "email": ""}, "(root)"),
        ({"phone": "1", "status": "qualified"}, "status"),
        ({"phone": "1", "score": 99}, "score"),
        ({"phone": "1", "organisation_id": "x"}, "organisation_id"),
        (
            {"phone": "1", "consent": {"checked": True, "consent_status": "x"}},
            "consent.consent_status",
        ),
        ({"phone": "1", "first_name": "x" * 201}, "first_name"),
        ({"phone": "1", "reason": "x" * 5001}, "reason"),
        ({"phone": "1", "urgency": "yesterday"}, "urgency"),
        ({"phone": "1", "preferred_contact_method": "fax"}, "preferred_contact_method"),
        ({"phone": "1", "referral": {"npi": "1234567890"}}, "referral.npi"),
        ({"phone": "1", "referral": {"npi": "12345"}}, "referral.npi"),
        ({"phone": "1", "consent": {"checked": True, "ip": "not-an-ip"}}, "consent.ip"),
        ({"phone": "1", "consent": {"checked": True, "channels": ["fax"]}}, "consent.channels.0"),
        ({"phone": "1", "consent": {"disclosure_text": "x"}}, "consent.checked"),
        ({"phone": "1", "submitted_at": "2025-03-14T15:04:37"}, "submitted_at"),
        # the years every instant of the API takes (year 1 would be stored -infinity)
        ({"phone": "1", "submitted_at": "0001-01-01T00:00:00Z"}, "submitted_at"),
        (
            {"phone": "1", "consent": {"checked": True, "captured_at": "0001-01-01T00:00:00Z"}},
            "consent.captured_at",
        ),
        ({"phone": "1", "date_of_birth": "2999-01-01"}, "date_of_birth"),
        ({"phone": "1", "language": "Klingon!"}, "language"),
        ({"phone": "1", "channel": "carrier_pigeon"}, "channel"),
        ({"phone": "1", "custom": {"q": {"nested": "x"}}}, "custom.q"),
    ],
)
def test_invalid_leads_name_the_field(data: dict[str, Any], field: str) -> None:
    fields = [p["field"] for p in _problems(data)]
    assert field in fields


@pytest.mark.parametrize(
    "data",
    [
        {"phone": SECRET_VALUE * 10, "first_name": SECRET_VALUE * 20},
        {"phone": "1", "referral": {"npi": SECRET_VALUE}},
        {"phone": "1", "consent": {"checked": True, "ip": SECRET_VALUE}},
        {"phone": "1", "urgency": SECRET_VALUE},
        {"phone": "1", "date_of_birth": SECRET_VALUE},
    ],
)
def test_errors_never_echo_input(data: dict[str, Any]) -> None:
    with pytest.raises(ValidationError) as info:
        CanonicalLead.model_validate(data)
    assert SECRET_VALUE not in str(info.value)
    assert SECRET_VALUE not in repr(validation_problems(info.value))


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("Phone call", "voice"),
        ("TEXT message", "sms"),
        ("e-mail", "email"),
        ("sms", "sms"),
    ],
)
def test_contact_method_synonyms(given: str, expected: str) -> None:
    lead = CanonicalLead(phone="1", preferred_contact_method=given)
    assert lead.preferred_contact_method == expected


@pytest.mark.parametrize(
    ("given", "expected"), [("Spanish", "es"), ("EN", "en"), ("es_MX", "es-mx"), ("en-US", "en-us")]
)
def test_language_tags(given: str, expected: str) -> None:
    assert CanonicalLead(phone="1", language=given).language == expected


@pytest.mark.parametrize(
    ("npi", "valid"),
    [
        ("1234567893", True),
        ("1245319599", True),
        ("1234567890", False),
        ("123456789", False),
        ("12345678931", False),
        ("abcdefghij", False),
    ],
)
def test_npi_check_digit(npi: str, valid: bool) -> None:
    assert npi_is_valid(npi) is valid


def test_disclosure_text_is_kept_byte_exact() -> None:
    text = "  I agree\tto be called.\r\n  Not a condition of purchase.  "
    lead = CanonicalLead(phone="1", consent={"checked": True, "disclosure_text": text})
    assert lead.consent is not None and lead.consent.disclosure_text == text


def test_lead_is_immutable() -> None:
    lead = CanonicalLead(phone="1")
    with pytest.raises(ValidationError):
        lead.phone = "2"
