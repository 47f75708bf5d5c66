"""Webhook authenticity checks over the raw request bytes.

Every verifier returns None or raises SignatureError. Reasons are fixed
phrases: they never contain a secret, a signature or body content.
All comparisons go through `hmac.compare_digest`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets as _secrets
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlparse

MISSING = "missing signature"
BAD = "bad signature"
MALFORMED = "malformed signature"
STALE = "stale timestamp"
BAD_TIMESTAMP = "invalid timestamp"
MISSING_HEADERS = "missing webhook headers"
BAD_BODY_HASH = "body hash mismatch"
BAD_TOKEN = "bad token"  # noqa: S105 - a reason phrase, not a secret
MISSING_TOKEN = "missing token"  # noqa: S105 - a reason phrase, not a secret

WHSEC_PREFIX = "whsec_"


class SignatureError(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _eq(a: str | bytes, b: str | bytes) -> bool:
    left = a.encode() if isinstance(a, str) else a
    right = b.encode() if isinstance(b, str) else b
    return hmac.compare_digest(left, right)


def _hmac(key: bytes, msg: bytes, algo: str) -> bytes:
    return hmac.new(key, msg, algo).digest()


def _prefixed(header_value: str | None, prefix: str) -> str:
    if not header_value or not header_value.strip():
        raise SignatureError(MISSING)
    value = header_value.strip()
    if not value.startswith(prefix):
        raise SignatureError(MALFORMED)
    return value[len(prefix) :]


def verify_meta(body: bytes, header_value: str | None, app_secret: str) -> None:
    """`X-Hub-Signature-256: sha256=<hex HMAC-SHA256(app_secret, body)>`."""
    given = _prefixed(header_value, "sha256=").lower()
    expected = _hmac(app_secret.encode(), body, "sha256").hex()
    if not _eq(given, expected):
        raise SignatureError(BAD)


def verify_typeform(body: bytes, header_value: str | None, secret: str) -> None:
    """`Typeform-Signature: sha256=<base64 HMAC-SHA256(secret, body)>`."""
    given = _prefixed(header_value, "sha256=")
    expected = base64.b64encode(_hmac(secret.encode(), body, "sha256")).decode()
    if not _eq(given, expected):
        raise SignatureError(BAD)


def verify_callrail(body: bytes, header_value: str | None, signing_key: str) -> None:
    """`Signature: base64(HMAC-SHA1(signing_key, body))`, per CallRail's test vector."""
    if not header_value or not header_value.strip():
        raise SignatureError(MISSING)
    expected = base64.b64encode(_hmac(signing_key.encode(), body, "sha1")).decode()
    if not _eq(header_value.strip(), expected):
        raise SignatureError(BAD)


def verify_shared_token(given: str | None, expected: str) -> None:
    """Constant-time equality for secrets carried in a body or a URL."""
    if not expected:
        # An unset secret must never authenticate an empty token.
        raise SignatureError(BAD_TOKEN)
    if not given:
        raise SignatureError(MISSING_TOKEN)
    if not _eq(given, expected):
        raise SignatureError(BAD_TOKEN)


def verify_google_key(given: str | None, expected: str) -> None:
    verify_shared_token(given, expected)


def verify_unbounce_token(given: str | None, expected: str) -> None:
    verify_shared_token(given, expected)


# --- Standard Webhooks -------------------------------------------------------


def _whsec_key(secret: str) -> bytes:
    raw = secret.removeprefix(WHSEC_PREFIX)
    try:
        return base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        # Configuration error, not a bad delivery: fail loudly, without the secret.
        raise ValueError("webhook secret is not whsec_<base64>") from None


def generate_whsec(num_bytes: int = 32) -> str:
    return WHSEC_PREFIX + base64.b64encode(_secrets.token_bytes(num_bytes)).decode()


def _standard_signature(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return base64.b64encode(_hmac(key, signed, "sha256")).decode()


def sign_standard_webhook(msg_id: str, timestamp: int | datetime, body: bytes, secret: str) -> str:
    """The `webhook-signature` header value (`v1,<base64>`) for an outbound delivery."""
    ts = int(timestamp.timestamp()) if isinstance(timestamp, datetime) else timestamp
    return "v1," + _standard_signature(_whsec_key(secret), msg_id, ts, body)


def _lower_keys(headers: Mapping[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


def verify_standard_webhook(
    body: bytes,
    headers: Mapping[str, str],
    secrets: Sequence[str],
    now: datetime,
    tolerance: timedelta = timedelta(minutes=5),
) -> None:
    """Standard Webhooks v1: any configured secret against any `v1` signature may match."""
    h = _lower_keys(headers)
    msg_id = h.get("webhook-id", "").strip()
    ts_text = h.get("webhook-timestamp", "").strip()
    sig_header = h.get("webhook-signature", "").strip()
    if not sig_header:
        raise SignatureError(MISSING)
    if not msg_id or not ts_text:
        raise SignatureError(MISSING_HEADERS)
    try:
        ts = int(ts_text)
        sent_at = datetime.fromtimestamp(ts, tz=UTC)
    except (ValueError, OverflowError, OSError):
        raise SignatureError(BAD_TIMESTAMP) from None
    if abs(now - sent_at) > tolerance:
        raise SignatureError(STALE)
    given = [
        sig.split(",", 1)[1] for sig in sig_header.split() if sig.startswith("v1,") and len(sig) > 3
    ]
    if not given:
        raise SignatureError(MALFORMED)
    matched = False
    for secret in secrets:
        expected = _standard_signature(_whsec_key(secret), msg_id, ts, body)
        for candidate in given:
            # No early exit: keep the work independent of which pair matched.
            matched |= _eq(candidate, expected)
    if not matched:
        raise SignatureError(BAD)


# --- Twilio -----------------------------------------------------------------


def compute_twilio_signature(url: str, params: Sequence[tuple[str, str]], auth_token: str) -> str:
    """As twilio-python's RequestValidator: URL + each name, then its sorted values."""
    grouped: dict[str, list[str]] = {}
    for name, value in params:
        grouped.setdefault(name, []).append(value)
    parts = [url]
    for name in sorted(grouped):
        for value in sorted(grouped[name]):
            parts.append(name + value)
    digest = _hmac(auth_token.encode(), "".join(parts).encode(), "sha1")
    return base64.b64encode(digest).decode()


def _url_port_variants(url: str) -> tuple[str, str]:
    parsed = urlparse(url)
    if parsed.port:
        without = parsed._replace(netloc=parsed.netloc.rsplit(":", 1)[0]).geturl()
        return parsed.geturl(), without
    port = 443 if parsed.scheme == "https" else 80
    return parsed._replace(netloc=f"{parsed.netloc}:{port}").geturl(), parsed.geturl()


def verify_twilio(
    url: str,
    params: Sequence[tuple[str, str]],
    header_value: str | None,
    auth_token: str,
    body: bytes | None = None,
) -> None:
    """`X-Twilio-Signature`; Twilio is inconsistent about ports, so both forms are tried.

    For JSON-body webhooks pass `body`: the URL then carries `bodySHA256` and
    the signature covers the URL alone.
    """
    if not header_value or not header_value.strip():
        raise SignatureError(MISSING)
    query = parse_qs(urlparse(url).query)
    if "bodySHA256" in query:
        if body is None or not _eq(hashlib.sha256(body).hexdigest(), query["bodySHA256"][0]):
            raise SignatureError(BAD_BODY_HASH)
        params = ()
    given = header_value.strip()
    with_port, without_port = _url_port_variants(url)
    ok_without = _eq(compute_twilio_signature(without_port, params, auth_token), given)
    ok_with = _eq(compute_twilio_signature(with_port, params, auth_token), given)
    if not (ok_without or ok_with):
        raise SignatureError(BAD)
