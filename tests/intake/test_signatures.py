from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from app.signatures import (
    SignatureError,
    compute_twilio_signature,
    generate_whsec,
    sign_standard_webhook,
    verify_callrail,
    verify_google_key,
    verify_meta,
    verify_standard_webhook,
    verify_twilio,
    verify_typeform,
    verify_unbounce_token,
)

BODY = b'{"object":"page","entry":[{"id":"1","changes":[]}]}'
SECRET = "app-secret-1"


def _meta_header(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _typeform_header(body: bytes, secret: str) -> str:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return "sha256=" + base64.b64encode(digest).decode()


Verifier = Callable[[bytes, "str | None", str], None]


@pytest.mark.parametrize(
    ("verify", "sign"),
    [(verify_meta, _meta_header), (verify_typeform, _typeform_header)],
    ids=["meta", "typeform"],
)
@pytest.mark.parametrize(
    ("body", "header_for", "secret", "reason"),
    [
        (BODY, lambda s: s(BODY, SECRET), SECRET, None),
        (BODY + b" ", lambda s: s(BODY, SECRET), SECRET, "bad signature"),
        (BODY, lambda s: s(BODY, "other"), SECRET, "bad signature"),
        (BODY, lambda s: None, SECRET, "missing signature"),
        (BODY, lambda s: "", SECRET, "missing signature"),
        (
            BODY,
            lambda s: s(BODY, SECRET).replace("sha256=", "sha1="),
            SECRET,
            "malformed signature",
        ),
    ],
    ids=["ok", "tampered", "other-secret", "missing", "empty", "wrong-prefix"],
)
def test_hmac_header_verifiers(
    verify: Verifier,
    sign: Callable[[bytes, str], str],
    body: bytes,
    header_for: Callable[[Callable[[bytes, str], str]], str | None],
    secret: str,
    reason: str | None,
) -> None:
    header = header_for(sign)
    if reason is None:
        verify(body, header, secret)
        return
    with pytest.raises(SignatureError) as info:
        verify(body, header, secret)
    assert info.value.reason == reason
    assert secret not in str(info.value)


def test_meta_accepts_uppercase_hex() -> None:
    header = _meta_header(BODY, SECRET)
    verify_meta(BODY, "sha256=" + header[7:].upper(), SECRET)


CALLRAIL_KEY = "072e77e426f92738a72fe23c4d1953b4"
CALLRAIL_SIG = "UZAHbUdfm3GqL7qzilGozGzWV64="


@pytest.mark.parametrize(
    ("mutate", "header", "key", "reason"),
    [
        (False, CALLRAIL_SIG, CALLRAIL_KEY, None),
        (True, CALLRAIL_SIG, CALLRAIL_KEY, "bad signature"),
        (False, CALLRAIL_SIG, "another-key", "bad signature"),
        (False, None, CALLRAIL_KEY, "missing signature"),
        (False, "bad-signature", CALLRAIL_KEY, "bad signature"),
    ],
)
def test_callrail_docs_test_vector(
    fixture_bytes: Callable[[str], bytes],
    mutate: bool,
    header: str | None,
    key: str,
    reason: str | None,
) -> None:
    body = fixture_bytes("callrail_test_vector.json")
    if mutate:
        body = body.replace(b'"duration":"13"', b'"duration":"14"')
    if reason is None:
        verify_callrail(body, header, key)
        return
    with pytest.raises(SignatureError, match=reason):
        verify_callrail(body, header, key)


@pytest.mark.parametrize("verify", [verify_google_key, verify_unbounce_token])
@pytest.mark.parametrize(
    ("given", "expected", "ok"),
    [
        ("k-123", "k-123", True),
        ("k-124", "k-123", False),
        ("k-12", "k-123", False),
        (None, "k-123", False),
        ("", "k-123", False),
        ("", "", False),
        ("anything", "", False),
    ],
)
def test_shared_tokens(
    verify: Callable[[str | None, str], None], given: str | None, expected: str, ok: bool
) -> None:
    if ok:
        verify(given, expected)
    else:
        with pytest.raises(SignatureError):
            verify(given, expected)


NOW = datetime(2025, 3, 14, 15, 0, tzinfo=UTC)
WHSEC_A = "whsec_" + base64.b64encode(b"a" * 32).decode()
WHSEC_B = "whsec_" + base64.b64encode(b"b" * 32).decode()


def _sw_headers(
    secret: str = WHSEC_A, ts: datetime = NOW, body: bytes = BODY, msg_id: str = "msg_1"
) -> dict[str, str]:
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(ts.timestamp())),
        "webhook-signature": sign_standard_webhook(msg_id, ts, body, secret),
    }


def test_standard_webhook_known_vector() -> None:
    # Vector from the Standard Webhooks reference libraries' test suite.
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"test": 2432232314}'
    sig = sign_standard_webhook("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body, secret)
    assert sig == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


@pytest.mark.parametrize(
    ("headers", "secrets", "reason"),
    [
        (_sw_headers(), [WHSEC_A], None),
        (_sw_headers(secret=WHSEC_B), [WHSEC_A, WHSEC_B], None),
        (_sw_headers(ts=NOW - timedelta(seconds=299)), [WHSEC_A], None),
        (_sw_headers(ts=NOW + timedelta(seconds=299)), [WHSEC_A], None),
        (_sw_headers(ts=NOW - timedelta(seconds=301)), [WHSEC_A], "stale timestamp"),
        (_sw_headers(ts=NOW + timedelta(minutes=10)), [WHSEC_A], "stale timestamp"),
        (_sw_headers(secret=WHSEC_B), [WHSEC_A], "bad signature"),
        (_sw_headers(body=b"{}"), [WHSEC_A], "bad signature"),
        ({**_sw_headers(), "webhook-id": "msg_2"}, [WHSEC_A], "bad signature"),
        ({**_sw_headers(), "webhook-signature": ""}, [WHSEC_A], "missing signature"),
        ({**_sw_headers(), "webhook-timestamp": "soon"}, [WHSEC_A], "invalid timestamp"),
        ({**_sw_headers(), "webhook-id": ""}, [WHSEC_A], "missing webhook headers"),
        ({**_sw_headers(), "webhook-signature": "v1a,x v2,y"}, [WHSEC_A], "malformed signature"),
        ([], [WHSEC_A], "missing signature"),
    ],
    ids=[
        "ok", "rotated", "edge-old", "edge-new", "stale", "future", "other-secret", "tampered",
        "other-id", "empty-sig", "bad-ts", "no-id", "no-v1", "no-headers",
    ],
)  # fmt: skip
def test_standard_webhooks(headers: dict[str, str], secrets: list[str], reason: str | None) -> None:
    headers = dict(headers)
    if reason is None:
        verify_standard_webhook(BODY, headers, secrets, NOW)
        return
    with pytest.raises(SignatureError) as info:
        verify_standard_webhook(BODY, headers, secrets, NOW)
    assert info.value.reason == reason


def test_standard_webhook_multiple_signatures_and_header_case() -> None:
    good = _sw_headers()
    headers = {
        "Webhook-Id": good["webhook-id"],
        "Webhook-Timestamp": good["webhook-timestamp"],
        "Webhook-Signature": "v1,bm90LXRoaXMtb25l " + good["webhook-signature"],
    }
    verify_standard_webhook(BODY, headers, [WHSEC_B, WHSEC_A], NOW)


def test_generated_secret_round_trips() -> None:
    secret = generate_whsec()
    assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:])) == 32
    verify_standard_webhook(BODY, _sw_headers(secret=secret), [secret], NOW)


def test_broken_secret_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="whsec_"):
        verify_standard_webhook(BODY, _sw_headers(), ["whsec_***not base64***"], NOW)


TWILIO_TOKEN = "12345"
TWILIO_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
TWILIO_PARAMS = [
    ("CallSid", "CA1234567890ABCDE"),
    ("Digits", "1234"),
    ("From", "+14158675309"),
    ("To", "+18005551212"),
    ("Caller", "+14158675309"),
]
TWILIO_SIG = "RSOYDt4T1cUTdK1PDd93/VVr8B8="


# Vectors from twilio-python's tests/unit/test_request_validator.py.
@pytest.mark.parametrize(
    ("url", "signature"),
    [
        (TWILIO_URL, TWILIO_SIG),
        (TWILIO_URL.replace(".com", ".com:1234"), TWILIO_SIG),
        (TWILIO_URL.replace(".com", ".com:1234").replace("https", "http"),
         "Zmvh+3yNM1Phv2jhDCwEM3q5ebU="),
        (TWILIO_URL, "kvajT1Ptam85bY51eRf/AJRuM3w="),
        (TWILIO_URL.replace("https", "http"), "0ZXoZLH/DfblKGATFgpif+LLRf4="),
    ],
    ids=["plain", "strip-https-port", "keep-http-port", "add-443", "add-80"],
)  # fmt: skip
def test_twilio_reference_vectors(url: str, signature: str) -> None:
    verify_twilio(url, TWILIO_PARAMS, signature, TWILIO_TOKEN)


def test_twilio_compute_matches_reference() -> None:
    assert compute_twilio_signature(TWILIO_URL, TWILIO_PARAMS, TWILIO_TOKEN) == TWILIO_SIG


def test_twilio_repeated_params_reference_vector() -> None:
    params = [("Sid", "CA123"), ("SidAccount", "AC123"), ("Digits", "5678"), ("Digits", "1234")]
    expected = "IK+Dwps556ElfBT0I3Rgjkr1wJU="
    assert compute_twilio_signature(TWILIO_URL, params, TWILIO_TOKEN) == expected
    verify_twilio(TWILIO_URL, params, expected, TWILIO_TOKEN)


def test_twilio_json_body_reference_vector() -> None:
    body = b'{"property": "value", "boolean": true}'
    url = TWILIO_URL + "&bodySHA256=" + hashlib.sha256(body).hexdigest()
    verify_twilio(url, [], "a9nBmqA0ju/hNViExpshrM61xv4=", TWILIO_TOKEN, body=body)


@pytest.mark.parametrize(
    ("signed_url", "request_url"),
    [
        ("https://example.com/cb", "https://example.com:443/cb"),
        ("https://example.com:443/cb", "https://example.com/cb"),
        ("http://example.com:80/cb?x=1", "http://example.com/cb?x=1"),
        ("https://example.com/cb", "https://example.com/cb"),
    ],
)
def test_twilio_port_variants(signed_url: str, request_url: str) -> None:
    sig = compute_twilio_signature(signed_url, TWILIO_PARAMS, TWILIO_TOKEN)
    verify_twilio(request_url, TWILIO_PARAMS, sig, TWILIO_TOKEN)


def test_twilio_repeated_params_sorted_by_value() -> None:
    params = [("Z", "b"), ("A", "2"), ("Z", "a"), ("A", "1")]
    expected_string = "https://e.com/cbA1A2ZaZb"
    digest = hmac.new(TWILIO_TOKEN.encode(), expected_string.encode(), hashlib.sha1).digest()
    sig = base64.b64encode(digest).decode()
    assert compute_twilio_signature("https://e.com/cb", params, TWILIO_TOKEN) == sig
    verify_twilio("https://e.com/cb", list(reversed(params)), sig, TWILIO_TOKEN)


@pytest.mark.parametrize(
    ("params", "header", "token", "reason"),
    [
        (TWILIO_PARAMS[:-1], TWILIO_SIG, TWILIO_TOKEN, "bad signature"),
        (TWILIO_PARAMS, TWILIO_SIG, "other", "bad signature"),
        ([*TWILIO_PARAMS, ("Extra", "1")], TWILIO_SIG, TWILIO_TOKEN, "bad signature"),
        (TWILIO_PARAMS, None, TWILIO_TOKEN, "missing signature"),
    ],
)
def test_twilio_rejects(
    params: list[tuple[str, str]], header: str | None, token: str, reason: str
) -> None:
    with pytest.raises(SignatureError, match=reason):
        verify_twilio(TWILIO_URL, params, header, token)


@pytest.mark.parametrize(("body", "ok"), [(b'{"a":1}', True), (b'{"a":2}', False)])
def test_twilio_json_body_hash(body: bytes, ok: bool) -> None:
    url = "https://e.com/cb?bodySHA256=" + hashlib.sha256(b'{"a":1}').hexdigest()
    sig = compute_twilio_signature(url, [], TWILIO_TOKEN)
    if ok:
        verify_twilio(url, [], sig, TWILIO_TOKEN, body=body)
    else:
        with pytest.raises(SignatureError, match="body hash"):
            verify_twilio(url, [], sig, TWILIO_TOKEN, body=body)
