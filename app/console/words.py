"""Figures and decisions as people read them: durations, rates, money, times, definitions."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]

# The definitions of docs/definitions.md, one hover or footnote away from every figure.
DEFINITIONS: dict[str, str] = {
    "leads": "Leads received in the period, after de-duplication; test leads excluded, "
    "emergencies included. Later events of these leads count whenever they happened.",
    "qualified": "The lead matches a service the practice offers, a location that serves it "
    "and the practice's eligibility rules.",
    "contacted": "At least one contact attempt with outcome `connected`.",
    "booked": "An appointment exists, in any status but entered-in-error.",
    "completed": "The first visit happened (FHIR `fulfilled`).",
    "no_shows": "Leads with at least one appointment marked no-show.",
    "cancellations": "Leads with at least one cancelled appointment.",
    "show_rate": "Completed first visits / booked appointments whose time has passed. "
    "Cancellations are not in the denominator.",
    "contact_rate": "Contacted / leads.",
    "qualified_rate": "Qualified / leads.",
    "lead_to_appointment_rate": "Booked / leads.",
    "completion_rate": "Completed / booked.",
    "cost": "Spend imported for the source and campaign on days in the period, divided by the "
    "count (leads, booked, completed) of that source and campaign. Unknown, not zero, when "
    "no spend was imported.",
    "speed_to_lead": "Time from receipt to the first contact attempt, any outcome. The first "
    "connected attempt is reported separately.",
    "median": "Half of the attempted leads were attempted faster than this.",
    "p90": "90% of the attempted leads were attempted faster than this.",
    "within_5m": "Share of attempted leads whose first attempt came within 5 minutes.",
    "within_sla": "Share of leads with an SLA whose first attempt came before it was due "
    "(leads still waiting count once their due time has passed).",
    "dropoff": "Where the period's leads stopped: never attempted, attempted but not reached, "
    "reached but not booked, booked but not shown. Age is from receipt until now.",
    "calibration": "Booked and completed rates by score band: a good score books more often "
    "as the band rises.",
    "trend": "Leads received per week (weeks start on Monday), and how many of them booked "
    "and completed a first visit so far.",
}

STAGES = {
    "never_attempted": "Never attempted",
    "attempted_not_reached": "Attempted, not reached",
    "reached_not_booked": "Reached, not booked",
    "booked_not_shown": "Booked, not shown",
}

ADVICE = {
    "never_attempted": "Call every lead: these were never attempted. Check that the queue is "
    "worked in opening hours and that SLA escalations reach someone who can call.",
    "attempted_not_reached": "Try again and on another channel: text after a missed call, "
    "call at another time of day, and keep to the attempt caps.",
    "reached_not_booked": "Offer a time on the first call: check call scripts and whether "
    "the locations have slots to offer.",
    "booked_not_shown": "Confirm the day before and send reminders; call no-shows to rebook.",
}


def duration(seconds: float | int | None) -> str:
    if seconds is None:
        return "\u2013"
    s = float(seconds)
    if s < 60:
        return f"{s:.0f} s"
    if s < 3600:
        return f"{s / 60:.1f} min"
    if s < 86400 * 2:
        return f"{s / 3600:.1f} h"
    return f"{s / 86400:.1f} days"


def pct(value: float | None) -> str:
    return "\u2013" if value is None else f"{value * 100:.1f}%"


def num(value: int | float | None) -> str:
    return "\u2013" if value is None else f"{value:,}"


def money(value: Decimal | float | None, currency: str | None = None) -> str:
    if value is None:
        return "\u2013"
    text = f"{Decimal(value):,.2f}"
    return f"{text} {currency}" if currency else text


def when(value: dt.datetime | str | None, zone: str | None = None) -> str:
    if value is None:
        return "\u2013"
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if zone:
        value = value.astimezone(ZoneInfo(zone))
    return value.strftime("%a %d %b %Y, %H:%M %Z").strip()


def countdown(due: dt.datetime | None, now: dt.datetime) -> str:
    if due is None:
        return "no SLA"
    left = (due - now).total_seconds()
    if left < 0:
        return f"overdue by {duration(-left)}"
    return f"due in {duration(left)}"


def label(key: Any, names: dict[str, str] | None = None, none: str = "(none)") -> str:
    """A group key as people read it: a name from `names` when known, else the key."""
    if key is None:
        return none
    text = str(key)
    return (names or {}).get(text, text)


def group(row: Any, names: dict[str, str] | None = None, none: str = "(none)") -> str:
    """A report row's group as people read it: the reports' own `name` where they give one,
    else the key looked up in `names`."""
    name = getattr(row, "name", None)
    return str(name) if name else label(getattr(row, "key", None), names, none)


def weekday(iso: str | int | None) -> str:
    try:
        return WEEKDAYS[int(iso or 0) - 1]
    except (ValueError, IndexError):
        return str(iso)


def hour(value: str | int | None) -> str:
    try:
        h = int(value or 0)
    except ValueError:
        return str(value)
    return f"{h:02d}:00\u2013{h:02d}:59"


OPERATORS = {
    "eq": "is", "ne": "is not", "in": "is one of", "not_in": "is none of",
    "prefix": "starts with", "gte": "is at least", "lte": "is at most", "gt": "is more than",
    "lt": "is less than", "exists": "is known", "is_true": "is yes", "is_false": "is no",
}  # fmt: skip
FIELDS = {
    "location_id": "location", "distance_miles": "distance (miles)", "band": "score band",
    "source_id": "source", "source_kind": "kind of source", "new_patient": "new patient",
    "team_open": "the team is open", "zip": "ZIP code",
}  # fmt: skip
HOP_REASONS = {
    "closed": "it was closed", "full": "every member was at capacity",
    "no_members": "no member could take the lead", "queued": "no member could take it now",
}  # fmt: skip


def _value(field: str, value: Any, names: dict[str, dict[str, str]]) -> str:
    if value is None:
        return "unknown"
    lookup = {"location_id": "location", "source_id": "source"}.get(field)
    if isinstance(value, list):
        return ", ".join(_value(field, v, names) for v in value)
    if lookup:
        return names.get(lookup, {}).get(str(value), str(value))
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def condition(c: dict[str, Any], names: dict[str, dict[str, str]]) -> str:
    field, op = c.get("field", ""), c.get("op", "")
    text = f"{FIELDS.get(field, field)} {OPERATORS.get(op, op)}"
    if op not in ("exists", "is_true", "is_false"):
        text += f" {_value(field, c.get('expected', c.get('value')), names)}"
    return text


def trace_in_words(routing: dict[str, Any], names: dict[str, dict[str, str]]) -> list[str]:
    """The routing decision trace as sentences, in the order it was decided."""
    trace = routing.get("trace") or {}
    teams = names.get("team", {})
    members = names.get("member", {})

    def team(team_id: Any) -> str:
        return teams.get(str(team_id), str(team_id))

    if not trace:
        return ["This lead has not been routed."]
    out = [f"Routed with rule set version {trace.get('ruleset_version')}."]
    if trace.get("emergency") and trace.get("urgent_team_id"):
        out.append(f"An emergency: sent straight to {team(trace['urgent_team_id'])}.")
    for rule in trace.get("rules") or []:
        conditions = rule.get("conditions") or []
        if rule.get("matched"):
            why = " and ".join(condition(c, names) for c in conditions) or "it catches every lead"
            out.append(f"Rule “{rule.get('name')}” matched ({why}): to {team(rule['team_id'])}.")
        else:
            failed = next((c for c in conditions if not c.get("matched")), None)
            if failed is not None:
                actual = _value(failed.get("field", ""), failed.get("actual"), names)
                out.append(
                    f"Rule “{rule.get('name')}” did not match: {condition(failed, names)} "
                    f"is not so (the lead's: {actual})."
                )
    for hop in trace.get("overflow") or []:
        reason = HOP_REASONS.get(str(hop.get("reason")), str(hop.get("reason")))
        if hop.get("refused"):
            out.append(f"Overflow from {team(hop['from'])} to {team(hop['to'])} was refused.")
        else:
            out.append(f"{team(hop['from'])} overflowed to {team(hop['to'])}: {reason}.")
    choice = trace.get("choice") or {}
    if choice.get("member_id"):
        how = " (the same person as before)" if choice.get("sticky") else ""
        out.append(
            f"Assigned to {members.get(str(choice['member_id']), choice['member_id'])} "
            f"in {team(choice.get('team_id'))}{how}."
        )
    elif choice.get("team_id"):
        later = choice.get("callback_at")
        out.append(
            f"Queued for {team(choice['team_id'])}"
            + (f": no one could take it then; callback from {when(later)}." if later else ".")
        )
    out.extend(str(n).capitalize() + "." for n in trace.get("notes") or [])
    return out
