"""Types and helpers shared by the source adapters.

Each source kind is one module exporting an `Adapter`: the settings a source of the kind
takes (its secrets marked write-only), how its sender authenticates a raw delivery, the
sender's event id (a redelivery's key), and a pure parse from the authenticated delivery to
canonical data. Parsing raises AdapterError for deliveries it
cannot map; the caller keeps those quarantined and answers `quarantine_status`. Reasons and
fields never contain submitted values. `app.intake.adapters.registry` lists the kinds.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app.consent.schemas import FormConsent
from app.leads.canonical import CanonicalLead, validation_problems

MAX_FORM_FIELDS = 1000

# Form fields that carry attribution or consent evidence by convention (UTM parameters, ad
# click ids, TrustedForm and Jornaya tokens), with the canonical path each fills.
TRACKING_FIELDS: Mapping[str, str] = {
    "utm_source": "attribution.utm_source",
    "utm_medium": "attribution.utm_medium",
    "utm_campaign": "attribution.utm_campaign",
    "utm_term": "attribution.utm_term",
    "utm_content": "attribution.utm_content",
    "gclid": "attribution.gclid",
    "fbclid": "attribution.fbclid",
    "ttclid": "attribution.ttclid",
    "xxTrustedFormCertUrl": "consent.certificate_url",
    "leadid_token": "consent.leadid_token",
}


class AdapterError(Exception):
    def __init__(
        self,
        reason: str,
        field: str | None = None,
        problems: tuple[Mapping[str, str], ...] = (),
    ) -> None:
        super().__init__(reason if field is None else f"{reason} ({field})")
        self.reason = reason
        self.field = field
        self.problems = problems


@dataclass(frozen=True, slots=True)
class RawDelivery:
    body: bytes
    content_type: str = "application/json"
    headers: Mapping[str, str] = field(default_factory=dict)
    query: Mapping[str, str] = field(default_factory=dict)
    # The URL the sender called, as the public base URL names it, with the query as sent:
    # what a sender that signs the URL (Twilio) signed. Not stored with the delivery.
    url: str = ""

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == wanted), None)


@dataclass(frozen=True, slots=True)
class ParsedItem:
    external_id: str
    lead: CanonicalLead | None
    # Meta only: ids (as strings) needed to fetch the lead from the Graph API.
    needs_retrieval: Mapping[str, str] | None = None
    is_test: bool = False
    kind_specific: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class IgnoredDelivery:
    """A well-formed delivery we deliberately do not process; answer 2xx."""

    reason: str


@dataclass(frozen=True, slots=True)
class CallStatus:
    """Not a lead: a status callback of a call we placed, recorded as a contact attempt."""

    call_sid: str
    call_status: str
    sequence_number: int | None
    direction: str | None
    from_number: str | None
    to_number: str | None
    call_duration: int | None
    timestamp: datetime | None
    answered_by: str | None
    sip_response_code: int | None
    account_sid: str | None


Parsed = list[ParsedItem] | IgnoredDelivery | CallStatus


class SourceSettings(BaseModel):
    """What a source of some kind needs in its `settings`; every kind may carry the consent
    its form shows (app.consent)."""

    model_config = ConfigDict(extra="forbid")
    consent: FormConsent | None = None


def secret(**constraints: Any) -> Any:
    """A settings field that is a secret: stored encrypted, never answered (write-only)."""
    return Field(json_schema_extra={"writeOnly": True}, **constraints)


@dataclass(frozen=True, slots=True)
class Adapter:
    """One source kind: everything intake needs to know of its sender."""

    kind: str
    settings: type[SourceSettings]
    # Raises app.signatures.SignatureError; runs on the raw bytes, before anything
    # is stored.
    authenticate: Callable[[Mapping[str, Any], RawDelivery, datetime], None]
    event_id: Callable[[RawDelivery], str]
    parse: Callable[[RawDelivery, Mapping[str, str] | None], Parsed]
    # Where a sender retries non-2xx answers for a long time (Meta, 36 h) or disables the
    # integration after a few (CallRail), a quarantined delivery is answered 200: it is
    # stored and retrying cannot fix it. Others get the 422 problem, which they don't retry.
    quarantine_status: int = 422
    # Query parameters kept with a delivery for its replay. Most are not kept: a query may
    # carry a secret (Unbounce's token).
    stored_query: tuple[str, ...] = ()
    # A retried delivery gets the first one's answer; this says how it differs, if at all.
    repeated: Callable[[Mapping[str, Any]], dict[str, Any]] | None = None


def body_digest(body: bytes) -> str:
    return "sha256:" + hashlib.sha256(body).hexdigest()


def _reject_constant(name: str) -> Any:
    raise ValueError("non-standard JSON constant")


def load_json(body: bytes | str) -> Any:
    """Parse JSON keeping every number as its exact text.

    Ad platform ids exceed 2**53, so a float round trip would change them;
    numbers become strings and pydantic coerces where a number is wanted.
    """
    try:
        return json.loads(body, parse_int=str, parse_float=str, parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError):
        raise AdapterError("body is not valid JSON") from None


def load_json_object(body: bytes | str) -> dict[str, Any]:
    data = load_json(body)
    if not isinstance(data, dict):
        raise AdapterError("body must be a JSON object")
    return data


def form_pairs(body: bytes) -> list[tuple[str, str]]:
    """Decode an x-www-form-urlencoded body, keeping repeats and order."""
    try:
        text = body.decode("utf-8")
        return parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS)
    except (UnicodeDecodeError, ValueError):
        raise AdapterError("body is not valid form data") from None


def form_dict(body: bytes) -> dict[str, str]:
    """First value per name; later repeats are ignored."""
    result: dict[str, str] = {}
    for key, value in form_pairs(body):
        result.setdefault(key, value)
    return result


def is_form(content_type: str) -> bool:
    return content_type.split(";", 1)[0].strip().lower() == "application/x-www-form-urlencoded"


def scalar_text(value: Any) -> str | None:
    """A non-blank string for a scalar answer, or None (blank, list, object)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value if value.strip() else None
    return None


def set_path(target: dict[str, Any], path: str, value: Any) -> None:
    """Set a dotted canonical path such as `consent.checked` or `custom.Favourite clinic`."""
    head, _, rest = path.partition(".")
    if not head:
        raise AdapterError("empty canonical path in mapping")
    if head == "custom" and rest:
        # Custom keys are free text and may themselves contain dots.
        target.setdefault("custom", {})[rest] = value
        return
    if not rest:
        target[head] = value
        return
    child = target.setdefault(head, {})
    if not isinstance(child, dict):
        raise AdapterError("mapping sets a field inside a non-object", field=head)
    set_path(child, rest, value)


def get_path(source: Mapping[str, Any], path: str) -> Any:
    current: Any = source
    for part in path.split("."):
        if not isinstance(current, Mapping) or part not in current:
            return None
        current = current[part]
    return current


def add_custom(target: dict[str, Any], key: str, value: Any) -> None:
    text = scalar_text(value)
    if text is not None:
        target.setdefault("custom", {}).setdefault(key[:200], text)


def fill_consent_context(
    data: dict[str, Any],
    *,
    captured_at: datetime | None = None,
    page_url: str | None = None,
    ip: str | None = None,
    user_agent: str | None = None,
) -> None:
    """Complete a mapped consent block with delivery context it does not already carry."""
    consent = data.get("consent")
    if not isinstance(consent, dict) or "checked" not in consent:
        return
    defaults = {
        "captured_at": captured_at,
        "page_url": page_url,
        "ip": ip,
        "user_agent": user_agent,
        "method": "web_form",
    }
    for key, value in defaults.items():
        if value is not None:
            consent.setdefault(key, value)


def build_lead(data: Mapping[str, Any]) -> CanonicalLead:
    try:
        return CanonicalLead.model_validate(data)
    except ValidationError as exc:
        problems = tuple(validation_problems(exc))
        first = problems[0]["field"] if problems else None
        raise AdapterError("mapped data is not a valid lead", first, problems) from None


def parse_iso_datetime(value: Any) -> datetime | None:
    """An aware datetime from ISO-8601 text, or None; naive times are not guessed at."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None
