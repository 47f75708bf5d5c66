"""TrustedForm Certificate API v4: which URLs we call, what we send, what the answer means.

Pure functions; `app.integrations.verification` makes the call. As TrustedForm documents it,
a certificate is retained and matched with one `POST` to the certificate URL itself, Basic
authentication with the user `API` and the account's API key as the password,
`Content-Type: application/json` and `Api-Version: 4.0`; `retain` must come with
`match_lead`. The URL comes from whoever sent the lead, so only TrustedForm's own host is
ever called: anything else would hand our key to a stranger.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

HOST = "cert.trustedform.com"
# The facts worth keeping with the consent evidence (TrustedForm Insights properties).
INSIGHT_PROPERTIES = ("page_url", "created_at", "expires_at")


@dataclass(frozen=True)
class Outcome:
    status: str  # verified | no_match | expired | error | refused
    reason: str | None = None
    facts: dict[str, Any] = field(default_factory=dict)
    retry: bool = False  # a transient failure: ask again later


def target(certificate_url: str, api_base: str | None) -> str | None:
    """The URL to POST to, or None when the certificate URL is not TrustedForm's.

    `api_base` (tests, a proxy) replaces the scheme and host of an accepted URL; it never
    widens what is accepted."""
    try:
        parts = urlsplit(certificate_url.strip())
    except ValueError:
        return None
    if parts.scheme != "https" or parts.hostname != HOST or parts.port not in (None, 443):
        return None
    if parts.username or parts.password or not parts.path.strip("/"):
        return None
    base = (api_base or f"https://{HOST}").rstrip("/")
    return base + parts.path


def request(
    api_key: str,
    *,
    reference: str,
    email: str | None,
    phone: str | None,
    vendor: str | None = None,
    insights: bool = False,
) -> tuple[dict[str, str], dict[str, Any]]:
    """(headers, JSON body) of the retain + match_lead call."""
    token = base64.b64encode(f"API:{api_key}".encode()).decode()
    headers = {
        "Authorization": f"Basic {token}",
        "Content-Type": "application/json",
        "Accept": "application/json",
        "Api-Version": "4.0",
    }
    match: dict[str, str] = {}
    if email:
        match["email"] = email
    if phone:
        # TrustedForm strips formatting itself; national digits match what forms record.
        match["phone"] = phone.removeprefix("+1") if phone.startswith("+1") else phone
    retain: dict[str, str] = {"reference": reference}
    if vendor:
        retain["vendor"] = vendor
    body: dict[str, Any] = {"retain": retain, "match_lead": match}
    if insights:
        body["insights"] = {"properties": list(INSIGHT_PROPERTIES)}
    return headers, body


def _facts(body: Mapping[str, Any]) -> dict[str, Any]:
    facts: dict[str, Any] = {}
    retain = body.get("retain")
    results = retain.get("results") if isinstance(retain, Mapping) else None
    if isinstance(results, Mapping):
        for key in ("expires_at", "masked_cert_url", "previously_retained"):
            if results.get(key) is not None:
                facts[key] = results[key]
    insights = body.get("insights")
    props = insights.get("properties") if isinstance(insights, Mapping) else None
    if isinstance(props, Mapping):
        for key in INSIGHT_PROPERTIES:
            if props.get(key) is not None:
                facts.setdefault(key, props[key])
    match = body.get("match_lead")
    result = match.get("result") if isinstance(match, Mapping) else None
    if isinstance(result, Mapping):
        for key in ("email_match", "phone_match"):
            if key in result:
                facts[key] = result[key]
    return facts


def interpret(status_code: int, body: Any, now: dt.datetime) -> Outcome:
    """The answer to one call, as the consent evidence records it."""
    if status_code == 404:
        # "TrustedForm certificate has expired or could not be found"
        return Outcome("expired", "certificate expired or not found")
    if status_code in (401, 402, 403):
        refusal = {401: "API key refused", 402: "account inactive or out of funds",
                   403: "operation not available on this account"}[status_code]  # fmt: skip
        return Outcome("error", refusal, retry=True)
    if status_code == 429 or status_code >= 500:
        return Outcome("error", f"TrustedForm answered {status_code}", retry=True)
    if status_code != 200 or not isinstance(body, Mapping):
        return Outcome("error", f"TrustedForm answered {status_code}")
    facts = _facts(body)
    match = body.get("match_lead")
    result = match.get("result") if isinstance(match, Mapping) else None
    matched = isinstance(result, Mapping) and result.get("success") is True
    outcome = body.get("outcome")
    given = body.get("reason")
    reason = given if isinstance(given, str) and given not in ("", "null") else None
    if not matched:
        return Outcome("no_match", reason or "lead data does not match the certificate", facts)
    if outcome == "success":
        expires = _when(facts.get("expires_at"))
        if expires is not None and expires < now:
            return Outcome("expired", "certificate expired", facts)
        return Outcome("verified", None, facts)
    if outcome == "failure":
        return Outcome("no_match", reason or "TrustedForm reported a failure", facts)
    return Outcome("error", reason or "TrustedForm reported an error", facts, retry=True)


def _when(value: Any) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
