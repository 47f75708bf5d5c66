"""Where a lead probably is, from its phone number's area code and from its ZIP.

Both lookups are offline: libphonenumber's geocoder and time-zone tables ship
with the ``phonenumbers`` package and the ZIP table with ``zipcodes``. No
explicit NANP table is kept here because libphonenumber is maintained against
the NANPA assignments and was checked to give FL for 305, NY for 212, IL for
773, OK for 405 and MD for 410 (see tests/consent/test_policy.py).

Known limit: libphonenumber gives one zone for most area codes even where the
area code straddles a zone line (270 in western Kentucky reads as Eastern).
The ZIP zone is the primary signal and the policy applies the stricter of the
two, so this only matters for leads without a ZIP.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from phonenumbers import geocoder, timezone

_STATE_NAMES: dict[str, str] = {
    "Alabama": "AL", "Alaska": "AK", "Arizona": "AZ", "Arkansas": "AR",
    "California": "CA", "Colorado": "CO", "Connecticut": "CT", "Delaware": "DE",
    "Florida": "FL", "Georgia": "GA", "Hawaii": "HI", "Idaho": "ID",
    "Illinois": "IL", "Indiana": "IN", "Iowa": "IA", "Kansas": "KS",
    "Kentucky": "KY", "Louisiana": "LA", "Maine": "ME", "Maryland": "MD",
    "Massachusetts": "MA", "Michigan": "MI", "Minnesota": "MN", "Mississippi": "MS",
    "Missouri": "MO", "Montana": "MT", "Nebraska": "NE", "Nevada": "NV",
    "New Hampshire": "NH", "New Jersey": "NJ", "New Mexico": "NM", "New York": "NY",
    "North Carolina": "NC", "North Dakota": "ND", "Ohio": "OH", "Oklahoma": "OK",
    "Oregon": "OR", "Pennsylvania": "PA", "Rhode Island": "RI", "South Carolina": "SC",
    "South Dakota": "SD", "Tennessee": "TN", "Texas": "TX", "Utah": "UT",
    "Vermont": "VT", "Virginia": "VA", "Washington": "WA", "Washington State": "WA",
    "West Virginia": "WV", "Wisconsin": "WI", "Wyoming": "WY",
    "Washington D.C.": "DC", "District of Columbia": "DC", "Puerto Rico": "PR",
}  # fmt: skip
_STATE_CODES = frozenset(_STATE_NAMES.values())


@dataclass(frozen=True, slots=True)
class PhoneLocation:
    """State and candidate zones implied by a number; empty when non-geographic."""

    state: str | None
    time_zones: tuple[str, ...]


def _state_from_description(description: str) -> str | None:
    # The geocoder answers either "Florida" or "Miami, FL" depending on how
    # specific its prefix data is for the exchange.
    if description in _STATE_NAMES:
        return _STATE_NAMES[description]
    _, sep, tail = description.rpartition(", ")
    if sep and tail in _STATE_CODES:
        return tail
    return None


def valid_zone(name: str | None) -> str | None:
    """The IANA zone name if the tz database knows it, else None."""
    if not name:
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return name


@cache
def phone_location(e164: str) -> PhoneLocation:
    """Locate a NANP number by its area code; anything unparseable is unknown."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return PhoneLocation(None, ())
    description = geocoder.description_for_number(number, "en")
    if number.country_code != 1 or not description:
        # Toll-free and other non-geographic numbers list every NANP zone,
        # which says nothing about where the person is.
        return PhoneLocation(None, ())
    zones = timezone.time_zones_for_geographical_number(number)
    known = tuple(sorted(z for z in zones if valid_zone(z)))
    return PhoneLocation(_state_from_description(description), known)


@cache
def zip_location(zip_code: str) -> tuple[str | None, str | None]:
    """(state, IANA zone) for a US ZIP, or (None, None) when unknown."""
    import zipcodes  # a large table: load it only when a ZIP is looked up

    five = zip_code.strip()[:5]
    if len(five) != 5 or not five.isdigit():
        return None, None
    matches: list[dict[str, Any]] = zipcodes.matching(five)  # type: ignore[no-untyped-call]
    if not matches:
        return None, None
    match = matches[0]
    state = match.get("state") or None
    return state, valid_zone(match.get("timezone"))
