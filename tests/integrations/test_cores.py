"""TrustedForm and Jornaya: which URLs are called and what an answer means, table-driven."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from app.integrations import jornaya, trustedform

NOW = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("url", "base", "called"),
    [
        ("https://cert.trustedform.com/abc123", None, "https://cert.trustedform.com/abc123"),
        ("https://cert.trustedform.com/abc123", "http://127.0.0.1:9", "http://127.0.0.1:9/abc123"),
        ("http://cert.trustedform.com/abc123", None, None),  # not TLS
        ("https://cert.trustedform.com.evil.example/abc", None, None),
        ("https://evil.example/cert.trustedform.com/abc", None, None),
        ("https://user:pw@cert.trustedform.com/abc", None, None),
        ("https://cert.trustedform.com:8443/abc", None, None),
        ("https://cert.trustedform.com/", None, None),
        ("https://evil.example/abc", "http://127.0.0.1:9", None),  # the base never widens
        ("not a url", None, None),
    ],
)
def test_only_trustedforms_host_is_called(url: str, base: str | None, called: str | None) -> None:
    assert trustedform.target(url, base) == called


def test_request_is_retain_with_match_lead() -> None:
    headers, body = trustedform.request(
        "k3y", reference="lead-1", email="a@b.c", phone="+13125550100"
    )
    assert headers["Authorization"] == "Basic QVBJOmszeQ=="  # API:k3y
    assert headers["Api-Version"] == "4.0" and headers["Content-Type"] == "application/json"
    assert body == {"retain": {"reference": "lead-1"},
                    "match_lead": {"email": "a@b.c", "phone": "3125550100"}}  # fmt: skip


def _answer(success: bool, outcome: str = "success", expires: str = "2031-01-01T00:00:00Z") -> Any:
    return {
        "outcome": outcome,
        "match_lead": {"result": {"email_match": success, "phone_match": success,
                                  "success": success}},
        "retain": {"results": {"expires_at": expires}},
    }  # fmt: skip


@pytest.mark.parametrize(
    ("status", "body", "expected", "retry"),
    [
        (200, _answer(True), "verified", False),
        (200, _answer(False, "failure"), "no_match", False),
        (200, _answer(True, expires="2020-01-01T00:00:00Z"), "expired", False),
        (200, _answer(True, "error"), "error", True),
        (404, {"message": "expired or not found"}, "expired", False),
        (401, {}, "error", True),
        (402, {}, "error", True),
        (503, {}, "error", True),
        (429, {}, "error", True),
        (422, {}, "error", False),
        (200, "not json", "error", False),
    ],
)
def test_trustedform_answers(status: int, body: Any, expected: str, retry: bool) -> None:
    outcome = trustedform.interpret(status, body, NOW)
    assert (outcome.status, outcome.retry) == (expected, retry)


def test_trustedform_facts_are_kept() -> None:
    body = _answer(True) | {
        "insights": {
            "properties": {"page_url": "https://p.example/", "created_at": "2026-05-30T10:00:00Z"}
        }
    }
    facts = trustedform.interpret(200, body, NOW).facts
    assert facts == {"expires_at": "2031-01-01T00:00:00Z", "page_url": "https://p.example/",
                     "created_at": "2026-05-30T10:00:00Z", "email_match": True,
                     "phone_match": True}  # fmt: skip


@pytest.mark.parametrize(
    ("token", "valid"),
    [("1F2E3D4C-5B6A-4798-8A7B-6C5D4E3F2A1B", True), ("1f2e3d4c-5b6a-4798-8a7b-6c5d4e3f2a1b", True),
     ("1F2E3D4C5B6A47988A7B6C5D4E3F2A1B", False), ("https://evil.example/", False), ("", False)],
)  # fmt: skip
def test_leadid_token_form(token: str, valid: bool) -> None:
    assert jornaya.valid_token(token) is valid


@pytest.mark.parametrize(
    ("status", "body", "expected", "retry"),
    [
        (200, {"authenticate": {"authentic": 1, "token": "t"}}, "verified", False),
        (200, {"authenticate": {"authentic": 0, "token": "t", "reason": 2}}, "no_match", False),
        (200, {"audit": {"authentic": 0, "reason": 1}, "transid": "x"}, "no_match", False),
        (200, {"something": "else"}, "error", False),
        (500, {}, "error", True),
        (403, {}, "error", True),
    ],
)
def test_jornaya_answers(status: int, body: Any, expected: str, retry: bool) -> None:
    outcome = jornaya.interpret(status, body)
    assert (outcome.status, outcome.retry) == (expected, retry)


def test_jornaya_url() -> None:
    assert (
        jornaya.url("LAC-1", " tok ", None)
        == "https://api.leadid.com/Authenticate?lac=LAC-1&id=tok"
    )
