"""Pure appointment rules: one shape for canonical and FHIR input, invariants, ordering."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal

from app.appointments.transitions import STATUSES, TIMELESS, WITH_REASON

FIELDS = ("external_id", "status", "cancellation_reason", "location", "provider", "service",
          "start", "end", "external_system", "provider_participant")  # fmt: skip


@dataclass(frozen=True)
class AppointmentData:
    status: str
    external_id: str | None = None
    cancellation_reason: str | None = None
    location: str | None = None
    provider: str | None = None
    service: str | None = None
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    # FHIR only, kept to be answered as sent: the identifier's system, the practitioner
    # participant element.
    external_system: str | None = None
    provider_participant: dict[str, Any] | None = None
    # ordering facts from the sender (meta.versionId, meta.lastUpdated or event time)
    source_version: str | None = None
    source_updated_at: dt.datetime | None = None
    # FHIR Appointment.slot references (`Slot/{id}`): not stored on the appointment, they
    # take those slots off the offer (app.availability.booking).
    slots: tuple[str, ...] = ()

    def replace(self, **changes: object) -> AppointmentData:
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]


Problem = dict[str, str]


def invariant_problems(data: AppointmentData) -> list[Problem]:
    """FHIR app-2, app-3, app-4, plus end not before start. Field names only, no values."""
    out: list[Problem] = []
    if data.status not in STATUSES:
        out.append({"field": "status", "message": "not an AppointmentStatus code"})
    if (data.start is None) != (data.end is None):
        out.append({"field": "start", "message": "start and end must both be present or absent"})
    elif data.start is None and data.status not in TIMELESS:
        out.append(
            {"field": "start", "message": "only proposed, cancelled or waitlist may lack times"}
        )
    if data.start is not None and data.end is not None and data.end < data.start:
        out.append({"field": "end", "message": "end is before start"})
    if data.cancellation_reason is not None and data.status not in WITH_REASON:
        out.append(
            {
                "field": "cancellation_reason",
                "message": "a cancellation reason needs status cancelled or noshow",
            }
        )
    for name in ("start", "end", "source_updated_at"):
        value = getattr(data, name)
        if value is not None and value.tzinfo is None:
            out.append({"field": name, "message": "needs a time zone offset"})
    return out


def not_started(data: AppointmentData, now: dt.datetime) -> bool:
    """A visit that is said to have happened (`fulfilled`) but starts later than now."""
    return data.status == "fulfilled" and data.start is not None and data.start > now


Order = Literal["older", "same", "newer"]


def _as_int(value: str | None) -> int | None:
    if value is None or not value.strip().isdigit():
        return None
    return int(value)


def compare(
    stored_version: str | None,
    stored_at: dt.datetime | None,
    incoming_version: str | None,
    incoming_at: dt.datetime | None,
) -> Order:
    """Where an incoming change sits against what we hold, by version, else by time.

    Without ordering facts a change counts as newer; identical content is then a no-op anyway.
    """
    a, b = _as_int(stored_version), _as_int(incoming_version)
    if a is not None and b is not None:
        return "older" if b < a else "same" if b == a else "newer"
    if stored_version is not None and stored_version == incoming_version:
        return "same"
    if stored_at is not None and incoming_at is not None:
        return (
            "older" if incoming_at < stored_at else "same" if incoming_at == stored_at else "newer"
        )
    return "newer"


def changed_fields(current: AppointmentData, incoming: AppointmentData) -> list[str]:
    return [f for f in FIELDS if getattr(current, f) != getattr(incoming, f)]


def summarize(statuses_oldest_first: list[str]) -> tuple[str | None, bool]:
    """(the status that speaks for the lead, whether it ever missed one) from its appointments.

    A fulfilled visit stays the lead's outcome; otherwise the latest appointment speaks.
    Appointments entered in error never happened.
    """
    real = [s for s in statuses_oldest_first if s != "entered-in-error"]
    had_no_show = "noshow" in real
    if "fulfilled" in real:
        return "fulfilled", had_no_show
    return (real[-1] if real else None), had_no_show
