"""Per source kind: authenticate a raw delivery, name its event, parse it to canonical leads.

Authentication happens on the raw bytes before anything is stored; a delivery that fails it
stores nothing and answers 401.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

from app.errors import Unauthorized
from app.intake import signatures as sig
from app.intake.adapters import callrail, generic, google, meta, typeform, unbounce
from app.intake.adapters.base import IgnoredDelivery, ParsedItem, RawDelivery

Parsed = list[ParsedItem] | IgnoredDelivery

# Where a sender retries non-2xx answers for a long time (Meta, 36 h) or disables the
# integration after a few (CallRail), a quarantined delivery is answered 200: it is stored
# and retrying cannot fix it. Others get the 422 problem, which they don't retry.
QUARANTINE_STATUS: Mapping[str, int] = {"meta_lead_ads": 200, "call_tracking": 200}


def authenticate(
    kind: str, settings: Mapping[str, Any], raw: RawDelivery, now: dt.datetime
) -> None:
    try:
        _AUTH[kind](settings, raw, now)
    except sig.SignatureError as exc:
        raise Unauthorized(
            f"The delivery is not authenticated: {exc.reason}.", type="invalid-signature"
        ) from None


def _auth_meta(s: Mapping[str, Any], raw: RawDelivery, now: dt.datetime) -> None:
    sig.verify_meta(raw.body, raw.header("x-hub-signature-256"), s["app_secret"])


def _auth_google(s: Mapping[str, Any], raw: RawDelivery, now: dt.datetime) -> None:
    sig.verify_google_key(google.extract_google_key(raw.body), s["google_key"])


def _auth_typeform(s: Mapping[str, Any], raw: RawDelivery, now: dt.datetime) -> None:
    sig.verify_typeform(raw.body, raw.header("typeform-signature"), s["secret"])


def _auth_unbounce(s: Mapping[str, Any], raw: RawDelivery, now: dt.datetime) -> None:
    sig.verify_unbounce_token(raw.query.get("token"), s["secret"])


def _auth_standard(s: Mapping[str, Any], raw: RawDelivery, now: dt.datetime) -> None:
    sig.verify_standard_webhook(raw.body, raw.headers, s["secrets"], now)


def _auth_callrail(s: Mapping[str, Any], raw: RawDelivery, now: dt.datetime) -> None:
    sig.verify_callrail(raw.body, raw.header("signature"), s["signing_key"])


def _auth_none(s: Mapping[str, Any], raw: RawDelivery, now: dt.datetime) -> None:
    raise sig.SignatureError("this source takes leads through POST /v1/leads only")


_AUTH: dict[str, Callable[[Mapping[str, Any], RawDelivery, dt.datetime], None]] = {
    "meta_lead_ads": _auth_meta,
    "google_ads_lead_form": _auth_google,
    "typeform": _auth_typeform,
    "unbounce": _auth_unbounce,
    "web_form": _auth_standard,
    "partner": _auth_standard,
    "call_tracking": _auth_callrail,
    "api": _auth_none,
}


def event_id(kind: str, raw: RawDelivery) -> str:
    if kind in ("web_form", "partner"):
        # Standard Webhooks: webhook-id is the sender's idempotency key across retries.
        return (raw.header("webhook-id") or "")[:255] or generic.event_id(raw)
    fn: Callable[[RawDelivery], str] = {
        "meta_lead_ads": meta.event_id,
        "google_ads_lead_form": google.event_id,
        "typeform": typeform.event_id,
        "unbounce": unbounce.event_id,
        "call_tracking": callrail.event_id,
    }[kind]
    return fn(raw)[:255]


def parse(kind: str, raw: RawDelivery, mapping: Mapping[str, str] | None) -> Parsed:
    """Raises AdapterError for a delivery that cannot be parsed or mapped."""
    if kind == "meta_lead_ads":
        return meta.parse(raw)
    if kind == "google_ads_lead_form":
        return [google.parse(raw, mapping)]
    if kind == "typeform":
        return [typeform.parse(raw, mapping)]
    if kind == "unbounce":
        return [unbounce.parse(raw, mapping)]
    if kind in ("web_form", "partner"):
        return [generic.parse(raw, mapping, channel="partner" if kind == "partner" else "web_form")]
    if kind == "call_tracking":
        parsed = callrail.parse(raw)
        return parsed if isinstance(parsed, IgnoredDelivery) else [parsed]
    raise ValueError(f"no adapter for {kind}")


SAFE_HEADERS = frozenset(
    {"content-type", "user-agent", "webhook-id", "webhook-timestamp", "x-request-id",
     "x-forwarded-for", "x-real-ip"}
)  # fmt: skip


# Query parameters kept with a delivery for its replay. Most are not kept: a query may carry
# a secret (Unbounce's token).
_STORED_QUERY: Mapping[str, tuple[str, ...]] = {"twilio_voice": ("member",)}


def stored_query(kind: str, query: Mapping[str, str]) -> dict[str, str]:
    return {k: query[k] for k in _STORED_QUERY.get(kind, ()) if k in query}


def stored_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Headers kept with the raw body: signatures and tokens are not kept."""
    return {k.lower(): v for k, v in headers.items() if k.lower() in SAFE_HEADERS}
