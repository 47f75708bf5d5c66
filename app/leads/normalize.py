"""Pure normalisation of a canonical lead: names, phone, email, ZIP, geography.

Invalid input never raises: the raw value is kept and a flag is added, so a
lead with a typo in its email still reaches a human.

Phone validity policy: `phonenumbers.is_possible_number` is the floor for
producing an E.164 string (`phone_valid=True`). When the number is possible but
`is_valid_number` says no (unassigned area code, a range the metadata does not
know yet), we still keep the E.164 form and add the `phone_unverified` flag,
because metadata lags real number assignments and dropping a callable number
costs a patient. NANP 555-01xx "fictional" numbers pass `is_valid_number` in
phonenumbers 9.x, so `+1 773-555-0119` is simply valid.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache, lru_cache

import phonenumbers
import zipcodes
from email_validator import EmailNotValidError, validate_email
from phonenumbers import geocoder

from app.leads.canonical import CanonicalLead

FLAG_NAME_MISSING = "name_missing"
FLAG_PHONE_INVALID = "phone_invalid"
FLAG_PHONE_UNVERIFIED = "phone_unverified"
FLAG_EMAIL_INVALID = "email_invalid"
FLAG_ZIP_UNKNOWN = "zip_unknown"
FLAG_NO_VALID_CONTACT = "no_valid_contact"

_ZIP_RE = re.compile(r"^(\d{5})(?:[-\s]?\d{4})?$")
_CITY_STATE_RE = re.compile(r",\s*([A-Z]{2})$")
# Territories have their own region code in phonenumbers' metadata.
_TERRITORY_REGIONS = frozenset({"PR", "GU", "VI", "AS", "MP"})

STATE_CODES: dict[str, str] = {
    "alabama": "AL", "alaska": "AK", "arizona": "AZ", "arkansas": "AR", "california": "CA",
    "colorado": "CO", "connecticut": "CT", "delaware": "DE", "florida": "FL", "georgia": "GA",
    "hawaii": "HI", "idaho": "ID", "illinois": "IL", "indiana": "IN", "iowa": "IA",
    "kansas": "KS", "kentucky": "KY", "louisiana": "LA", "maine": "ME", "maryland": "MD",
    "massachusetts": "MA", "michigan": "MI", "minnesota": "MN", "mississippi": "MS",
    "missouri": "MO", "montana": "MT", "nebraska": "NE", "nevada": "NV",
    "new hampshire": "NH", "new jersey": "NJ", "new mexico": "NM", "new york": "NY",
    "north carolina": "NC", "north dakota": "ND", "ohio": "OH", "oklahoma": "OK",
    "oregon": "OR", "pennsylvania": "PA", "rhode island": "RI", "south carolina": "SC",
    "south dakota": "SD", "tennessee": "TN", "texas": "TX", "utah": "UT", "vermont": "VT",
    "virginia": "VA", "washington": "WA", "west virginia": "WV", "wisconsin": "WI",
    "wyoming": "WY", "washington d.c.": "DC", "district of columbia": "DC",
    "washington, d.c.": "DC", "puerto rico": "PR", "guam": "GU",
    "u.s. virgin islands": "VI", "american samoa": "AS", "northern mariana islands": "MP",
}  # fmt: skip
_STATE_CODE_SET = frozenset(STATE_CODES.values())


@dataclass(frozen=True, slots=True)
class ZipInfo:
    postal_code: str
    city: str
    state: str
    time_zone: str | None
    latitude: float | None
    longitude: float | None


@dataclass(frozen=True, slots=True)
class PhoneResult:
    e164: str | None
    possible: bool
    valid: bool
    state: str | None


@dataclass(frozen=True, slots=True)
class NormalizedLead:
    first_name: str | None
    last_name: str | None
    full_name: str | None
    phone_raw: str | None
    phone_e164: str | None
    phone_valid: bool
    phone_state: str | None
    email_raw: str | None
    email_normalized: str | None
    email_valid: bool
    postal_code: str | None
    city: str | None
    state: str | None
    time_zone: str | None
    latitude: float | None
    longitude: float | None
    flags: tuple[str, ...]


def clean_text(value: str | None) -> str | None:
    """Trim and collapse internal whitespace; blank becomes None."""
    if value is None:
        return None
    collapsed = " ".join(value.split())
    return collapsed or None


def normalize_names(
    first: str | None, last: str | None, full: str | None
) -> tuple[str | None, str | None, str | None]:
    first, last, full = clean_text(first), clean_text(last), clean_text(full)
    if full and not (first or last):
        # First token is the given name; the rest stays together so particles
        # such as "de la Cruz" or "van der Berg" survive as the surname.
        head, _, tail = full.partition(" ")
        return head, tail or None, full
    if not full and (first or last):
        full = " ".join(part for part in (first, last) if part)
    return first, last, full


def state_code(value: str | None) -> str | None:
    """Two-letter code for a state name, an 'City, ST' label or a code; None if unknown."""
    text = clean_text(value)
    if not text:
        return None
    if text.upper() in _STATE_CODE_SET:
        return text.upper()
    match = _CITY_STATE_RE.search(text)
    if match and match.group(1) in _STATE_CODE_SET:
        return match.group(1)
    return STATE_CODES.get(text.lower())


@lru_cache(maxsize=4096)
def _phone_state(e164: str) -> str | None:
    number = phonenumbers.parse(e164, None)
    region = phonenumbers.region_code_for_number(number)
    if region in _TERRITORY_REGIONS:
        return region
    if region != "US":
        return None
    return state_code(geocoder.description_for_number(number, "en"))


def normalize_phone(raw: str | None, default_region: str = "US") -> PhoneResult:
    text = clean_text(raw)
    if not text:
        return PhoneResult(None, possible=False, valid=False, state=None)
    try:
        number = phonenumbers.parse(text, default_region)
    except phonenumbers.NumberParseException:
        return PhoneResult(None, possible=False, valid=False, state=None)
    if not phonenumbers.is_possible_number(number):
        return PhoneResult(None, possible=False, valid=False, state=None)
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return PhoneResult(
        e164,
        possible=True,
        valid=phonenumbers.is_valid_number(number),
        state=_phone_state(e164),
    )


def normalize_email(raw: str | None) -> str | None:
    """Lower-cased whole address for dedup, or None when the syntax is invalid.

    The local part is case-sensitive in theory, but no mailbox provider treats
    it so, and dedup must match Joe@x.com with joe@x.com.
    """
    text = clean_text(raw)
    if not text:
        return None
    try:
        result = validate_email(text, check_deliverability=False)
    except EmailNotValidError:
        return None
    return result.normalized.lower()


def zip5(raw: str | None) -> str | None:
    text = clean_text(raw)
    if not text:
        return None
    match = _ZIP_RE.match(text)
    return match.group(1) if match else None


# HIPAA Safe Harbor (45 CFR 164.514(b)(2)(i)(B)): the three-digit ZIP prefixes whose areas
# hold 20,000 people or fewer (Census 2000, as HHS lists them) are reported as 000.
SMALL_ZIP3 = frozenset(
    {"036", "059", "063", "102", "203", "556", "692", "790", "821", "823", "830", "831",
     "878", "879", "884", "890", "893"}
)  # fmt: skip


def zip3(postal_code: str | None) -> str | None:
    """The Safe Harbor form of a ZIP: its first three digits, or 000 for small areas."""
    if not postal_code:
        return None
    digits = "".join(c for c in postal_code if c.isdigit())[:3]
    if len(digits) < 3:
        return None
    return "000" if digits in SMALL_ZIP3 else digits


def _to_float(value: object) -> float | None:
    try:
        return float(str(value))
    except ValueError:
        return None


@cache
def zip_index() -> dict[str, dict[str, object]]:
    """The package's ZIP rows by code, indexed once. `zipcodes.matching` scans all 42,789
    rows per call (1.8 ms measured), which every lead from a ZIP not seen before paid."""
    rows: list[dict[str, object]] = zipcodes.list_all()  # type: ignore[no-untyped-call]
    index: dict[str, dict[str, object]] = {}
    for row in rows:
        index.setdefault(str(row["zip_code"]), row)
    return index


@lru_cache(maxsize=8192)
def lookup_zip(code: str) -> ZipInfo | None:
    """Offline ZIP lookup (ZIP or ZIP+4)."""
    if not _ZIP_RE.match(code):
        return None
    row = zip_index().get(code[:5])
    if row is None:
        return None
    return ZipInfo(
        postal_code=code[:5],
        city=str(row["city"]),
        state=str(row["state"]),
        time_zone=str(row["timezone"]) if row.get("timezone") else None,
        latitude=_to_float(row.get("lat")),
        longitude=_to_float(row.get("long")),
    )


def normalize(lead: CanonicalLead, default_region: str = "US") -> NormalizedLead:
    flags: list[str] = []
    first, last, full = normalize_names(lead.first_name, lead.last_name, lead.full_name)
    if not full:
        flags.append(FLAG_NAME_MISSING)

    phone = normalize_phone(lead.phone, default_region)
    if clean_text(lead.phone) and not phone.possible:
        flags.append(FLAG_PHONE_INVALID)
    elif phone.possible and not phone.valid:
        flags.append(FLAG_PHONE_UNVERIFIED)

    email = normalize_email(lead.email)
    if clean_text(lead.email) and email is None:
        flags.append(FLAG_EMAIL_INVALID)
    if phone.e164 is None and email is None:
        flags.append(FLAG_NO_VALID_CONTACT)

    code = zip5(lead.postal_code)
    info = lookup_zip(code) if code else None
    if clean_text(lead.postal_code) and info is None:
        flags.append(FLAG_ZIP_UNKNOWN)
    address = lead.address
    city = info.city if info else clean_text(address.city if address else None)
    state = info.state if info else state_code(address.state if address else None)

    return NormalizedLead(
        first_name=first,
        last_name=last,
        full_name=full,
        phone_raw=lead.phone,
        phone_e164=phone.e164,
        phone_valid=phone.possible,
        phone_state=phone.state,
        email_raw=lead.email,
        email_normalized=email,
        email_valid=email is not None,
        postal_code=code,
        city=city,
        state=state,
        time_zone=info.time_zone if info else None,
        latitude=info.latitude if info else None,
        longitude=info.longitude if info else None,
        flags=tuple(flags),
    )
