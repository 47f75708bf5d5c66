"""A lead's status, derived from its history in one place.

new → routed → contacted → booked → completed, or not_qualified, unreachable, lost, no_show;
pending_retrieval while a Meta lead's data is still being fetched. Callers change facts
(routing, attempts, appointments) and then call `refresh`, never set `status` themselves;
app.outreach.history loads the facts kept outside the lead row and records the change.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.errors import Conflict
from app.leads.models import Lead


class LeadErased(Conflict):
    type, title = "lead-erased", "Lead erased"


def refuse_if_erased(lead: Lead) -> None:
    """Nothing new is recorded about a person whose lead was erased: an attempt, an
    appointment or a hold would start a history again that the erasure ended."""
    if lead.erased_at is not None:
        raise LeadErased("This lead was erased; nothing more can be recorded on it.")


@dataclass(frozen=True, slots=True)
class History:
    """Facts kept outside the lead row (appointments, attempts), loaded by the caller."""

    appointment_status: str | None = None  # the latest appointment's FHIR status
    had_no_show: bool = False
    unreachable: bool = False  # attempts exhausted without a connection
    lost: bool = False  # closed without booking (e.g. declined)


def derive(lead: Lead, history: History = History()) -> str:
    if lead.pii is None and lead.status == "pending_retrieval":
        return "pending_retrieval"
    appt = history.appointment_status
    if appt == "fulfilled":
        return "completed"
    if appt in ("booked", "arrived", "checked-in", "pending", "proposed", "waitlist"):
        return "booked"
    if appt == "noshow" or (history.had_no_show and appt in (None, "cancelled")):
        return "no_show"
    if history.lost:
        return "lost"
    if lead.first_connected_at is not None:
        return "contacted"
    if history.unreachable:
        return "unreachable"
    if lead.qualified is False:
        return "not_qualified"
    if lead.routed_at is not None:
        return "routed"
    return "new"


def refresh(lead: Lead, history: History = History()) -> str:
    lead.status = derive(lead, history)
    return lead.status
