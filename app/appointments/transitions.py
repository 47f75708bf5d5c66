"""Which FHIR appointment status may follow which.

FHIR R4 publishes the ten codes (http://hl7.org/fhir/ValueSet/appointmentstatus) and, on
the Appointment resource page (https://hl7.org/fhir/R4/appointment.html, "Appointment
Statuses"), a lifecycle diagram, but no normative transition table. This table follows that
diagram and the code definitions:

- a request (proposed, pending, waitlist) moves towards booked or is cancelled;
- a booked appointment is attended (arrived, checked-in, fulfilled), missed (noshow) or
  cancelled;
- fulfilled, cancelled and noshow are final: a rebooking is a new appointment;
- any status may become entered-in-error, which is final.

Staying in the same status is always allowed (a reschedule, a new provider).
"""

from __future__ import annotations

from typing import Literal, get_args

FhirStatus = Literal[
    "proposed",
    "pending",
    "booked",
    "arrived",
    "checked-in",
    "fulfilled",
    "cancelled",
    "noshow",
    "entered-in-error",
    "waitlist",
]
STATUSES: tuple[str, ...] = get_args(FhirStatus)

_ALLOWED: dict[str, frozenset[str]] = {
    "proposed": frozenset({"pending", "booked", "waitlist", "cancelled"}),
    "pending": frozenset({"proposed", "booked", "waitlist", "cancelled"}),
    "waitlist": frozenset({"proposed", "pending", "booked", "cancelled"}),
    "booked": frozenset({"arrived", "checked-in", "fulfilled", "cancelled", "noshow"}),
    "arrived": frozenset({"checked-in", "fulfilled", "cancelled", "noshow"}),
    "checked-in": frozenset({"arrived", "fulfilled", "cancelled", "noshow"}),
    "fulfilled": frozenset(),
    "cancelled": frozenset(),
    "noshow": frozenset(),
    "entered-in-error": frozenset(),
}

# Statuses that need a start and an end (FHIR invariant app-3).
TIMELESS = frozenset({"proposed", "cancelled", "waitlist"})
# Statuses that may carry a cancellation reason (app-4).
WITH_REASON = frozenset({"cancelled", "noshow"})


def allowed(current: str, new: str) -> bool:
    if current == new:
        return True
    if new == "entered-in-error":
        return current != "entered-in-error"
    return new in _ALLOWED.get(current, frozenset())
