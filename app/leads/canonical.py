"""The canonical lead: the one shape every source adapter produces.

Server-owned fields (status, score, organisation_id, consent_status, ...) are
deliberately absent, and every model forbids unknown keys, so a client can
never set them (mass assignment).
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from app.fields import Instant, IpAddress

# hide_input_in_errors keeps submitted values (PHI) out of str(ValidationError),
# which is what ends up in logs and tracebacks.
_CONFIG = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

NameStr = Annotated[str, StringConstraints(max_length=200)]
ShortStr = Annotated[str, StringConstraints(max_length=200)]
IdStr = Annotated[str, StringConstraints(max_length=200)]
UrlStr = Annotated[str, StringConstraints(max_length=2048)]
LongStr = Annotated[str, StringConstraints(max_length=1000)]
FreeText = Annotated[str, StringConstraints(max_length=5000)]

ContactMethod = Literal["voice", "sms", "email"]
Channel = Literal["web_form", "lead_form", "phone_call", "api", "partner"]

# Form answers say "Phone call" or "Text message"; accept the common wordings
# rather than quarantining an otherwise good lead.
_CONTACT_SYNONYMS = {
    "voice": "voice",
    "phone": "voice",
    "call": "voice",
    "phone call": "voice",
    "telephone": "voice",
    "sms": "sms",
    "text": "sms",
    "text message": "sms",
    "texting": "sms",
    "email": "email",
    "e-mail": "email",
}
_LANGUAGE_NAMES = {"english": "en", "spanish": "es", "español": "es", "espanol": "es"}
_LANGUAGE_RE = re.compile(r"^[a-z]{2,3}(-[a-z0-9]{2,8})*$")


def _fold(value: Any, synonyms: dict[str, str] | None = None) -> Any:
    if not isinstance(value, str):
        return value
    key = " ".join(value.split()).lower()
    if synonyms is None:
        return key.replace(" ", "_").replace("-", "_")
    return synonyms.get(key, key)


def _contact_method(value: Any) -> Any:
    return _fold(value, _CONTACT_SYNONYMS)


def _enum_token(value: Any) -> Any:
    return _fold(value)


ContactMethodIn = Annotated[ContactMethod, BeforeValidator(_contact_method)]


def npi_is_valid(npi: str) -> bool:
    """NPI check digit: Luhn over the 80840 card-issuer prefix plus the first nine digits."""
    if len(npi) != 10 or not npi.isdigit():
        return False
    digits = [int(c) for c in "80840" + npi[:9]]
    total = 0
    # Doubling starts at the rightmost payload digit because the check digit follows it.
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return (10 - total % 10) % 10 == int(npi[9])


class _Model(BaseModel):
    model_config = _CONFIG


class Address(_Model):
    line1: LongStr | None = None
    line2: LongStr | None = None
    city: ShortStr | None = None
    state: ShortStr | None = None
    country: ShortStr | None = None


class Service(_Model):
    code: IdStr | None = None
    text: LongStr | None = None


class Insurance(_Model):
    carrier: ShortStr | None = None
    plan: ShortStr | None = None
    member_id: IdStr | None = None


class Referral(_Model):
    referring_provider: ShortStr | None = None
    npi: Annotated[str, StringConstraints(max_length=20)] | None = None

    @field_validator("npi")
    @classmethod
    def _check_npi(cls, value: str | None) -> str | None:
        if value is None:
            return None
        cleaned = value.strip()
        if not npi_is_valid(cleaned):
            raise ValueError("not a valid NPI (10 digits with a correct check digit)")
        return cleaned


class Attribution(_Model):
    source: ShortStr | None = None
    campaign: LongStr | None = None
    campaign_id: IdStr | None = None
    adset: LongStr | None = None
    adset_id: IdStr | None = None
    ad: LongStr | None = None
    ad_id: IdStr | None = None
    form_id: IdStr | None = None
    utm_source: LongStr | None = None
    utm_medium: LongStr | None = None
    utm_campaign: LongStr | None = None
    utm_term: LongStr | None = None
    utm_content: LongStr | None = None
    gclid: LongStr | None = None
    fbclid: LongStr | None = None
    ttclid: LongStr | None = None
    landing_page_url: UrlStr | None = None
    referrer: UrlStr | None = None


class Consent(_Model):
    checked: bool
    # Kept byte-exact: the TSR wants the request "in the same manner and format as presented".
    disclosure_text: Annotated[str, StringConstraints(max_length=10000)] | None = None
    page_url: UrlStr | None = None
    ip: IpAddress | None = None
    user_agent: LongStr | None = None
    certificate_url: UrlStr | None = None
    leadid_token: Annotated[str, StringConstraints(max_length=100)] | None = None
    channels: Annotated[tuple[ContactMethodIn, ...], Field(max_length=3)] = ()
    purposes: Annotated[
        tuple[Annotated[Literal["scheduling", "marketing"], BeforeValidator(_enum_token)], ...],
        Field(max_length=2),
    ] = ()
    captured_at: Instant | None = None
    method: (
        Annotated[Literal["web_form", "verbal_recorded", "written"], BeforeValidator(_enum_token)]
        | None
    ) = None
    seller: ShortStr | None = None

    @field_validator("certificate_url")
    @classmethod
    def _check_cert_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("https://"):
            raise ValueError("must be an https URL")
        return value


def _language(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    key = value.strip().lower().replace("_", "-")
    return _LANGUAGE_NAMES.get(key, key)


def _check_language(value: str) -> str:
    if not _LANGUAGE_RE.match(value):
        raise ValueError("must be a language tag such as 'en' or 'es'")
    return value


def _check_dob(value: date) -> date:
    if value.year < 1900 or value > date.today():
        raise ValueError("must be a past date after 1900")
    return value


class CanonicalLead(_Model):
    first_name: NameStr | None = None
    last_name: NameStr | None = None
    full_name: NameStr | None = None
    phone: Annotated[str, StringConstraints(max_length=50)] | None = None
    email: Annotated[str, StringConstraints(max_length=320)] | None = None
    postal_code: Annotated[str, StringConstraints(max_length=20)] | None = None
    address: Address | None = None
    date_of_birth: date | None = None
    service: Service | None = None
    reason: FreeText | None = None
    urgency: (
        Annotated[Literal["routine", "soon", "urgent"], BeforeValidator(_enum_token)] | None
    ) = None
    requested_timeframe: ShortStr | None = None
    preferred_contact_method: ContactMethodIn | None = None
    preferred_contact_time: ShortStr | None = None
    preferred_location: ShortStr | None = None
    language: (
        # The stored column holds 16 characters (`en`, `es-419`, `zh-Hant-TW`).
        Annotated[str, StringConstraints(max_length=16), BeforeValidator(_language)] | None
    ) = None
    insurance: Insurance | None = None
    new_patient: bool | None = None
    referral: Referral | None = None
    attribution: Attribution | None = None
    consent: Consent | None = None
    external_id: IdStr | None = None
    submitted_at: Instant | None = None
    is_test: bool = False
    channel: Channel | None = None
    custom: Annotated[
        dict[Annotated[str, StringConstraints(max_length=200)], FreeText], Field(max_length=100)
    ] = {}

    @field_validator("language")
    @classmethod
    def _language_tag(cls, value: str | None) -> str | None:
        return None if value is None else _check_language(value)

    @field_validator("date_of_birth")
    @classmethod
    def _dob(cls, value: date | None) -> date | None:
        return None if value is None else _check_dob(value)

    @model_validator(mode="after")
    def _reachable(self) -> CanonicalLead:
        # A lead nobody can contact is not a lead; blank strings do not count.
        if not (self.phone or "").strip() and not (self.email or "").strip():
            raise ValueError("a phone number or an email address is required")
        return self


def validation_problems(exc: ValidationError) -> list[dict[str, str]]:
    """Turn a ValidationError into `{"field", "message"}` items without echoing input (PHI)."""
    problems: list[dict[str, str]] = []
    for err in exc.errors(include_url=False, include_context=False, include_input=False):
        field = ".".join(str(part) for part in err["loc"]) or "(root)"
        message = err["msg"]
        if message.startswith("Value error, "):
            message = message[len("Value error, ") :]
        problems.append({"field": field, "message": message})
    return problems
