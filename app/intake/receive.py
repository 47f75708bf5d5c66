"""Per source kind: authenticate a raw delivery, name its event, parse it to canonical leads.

Authentication happens on the raw bytes before anything is stored; a delivery that fails it
stores nothing and answers 401.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from app import signatures as sig
from app.errors import Unauthorized
from app.intake.adapters.base import Adapter, Parsed, RawDelivery
from app.intake.adapters.registry import ADAPTERS


def _adapter(kind: str) -> Adapter:
    adapter = ADAPTERS.get(kind)
    if adapter is None:
        raise sig.SignatureError("this source takes leads through POST /v1/leads only")
    return adapter


def authenticate(
    kind: str, settings: Mapping[str, Any], raw: RawDelivery, now: dt.datetime
) -> None:
    try:
        _adapter(kind).authenticate(settings, raw, now)
    except sig.SignatureError as exc:
        raise Unauthorized(
            f"The delivery is not authenticated: {exc.reason}.", type="invalid-signature"
        ) from None


def event_id(kind: str, raw: RawDelivery) -> str:
    return ADAPTERS[kind].event_id(raw)[:255]


def parse(kind: str, raw: RawDelivery, mapping: Mapping[str, str] | None) -> Parsed:
    """Raises AdapterError for a delivery that cannot be parsed or mapped."""
    return ADAPTERS[kind].parse(raw, mapping)


def repeated(kind: str, first: Mapping[str, Any]) -> dict[str, Any]:
    """The answer to a retry of a delivery whose first answer was `first`."""
    adapter = ADAPTERS.get(kind)
    if adapter is None or adapter.repeated is None:
        return dict(first)
    return adapter.repeated(first)


def quarantine_status(kind: str) -> int:
    adapter = ADAPTERS.get(kind)
    return 422 if adapter is None else adapter.quarantine_status


SAFE_HEADERS = frozenset(
    {"content-type", "user-agent", "webhook-id", "webhook-timestamp", "x-request-id",
     "x-forwarded-for", "x-real-ip"}
)  # fmt: skip


def stored_query(kind: str, query: Mapping[str, str]) -> dict[str, str]:
    adapter = ADAPTERS.get(kind)
    kept = () if adapter is None else adapter.stored_query
    return {k: query[k] for k in kept if k in query}


def stored_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Headers kept with the raw body: signatures and tokens are not kept."""
    return {k.lower(): v for k, v in headers.items() if k.lower() in SAFE_HEADERS}
