"""FHIR R4 `Schedule`, `Slot` and `Bundle` (transaction / batch) for availability.

We read what routing and the offer need: a Schedule's actors (the location, optionally a
practitioner), service types and `active`; a Slot's schedule, status, start, end, service
types and appointment type. `comment` is ignored: it is free text and may name a patient.
Problems carry FHIRPath-style pointers (`Slot.start`, `Bundle.entry[3].resource.status`)
and no values.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from app.availability.core import STATUSES
from app.fields import INSTANT_MESSAGE, parse_instant

MEDIA_TYPE = "application/fhir+json"
INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
PROVIDER_TYPES = ("Practitioner/", "PractitionerRole/")
Problem = dict[str, str]


@dataclass(frozen=True)
class Ordering:
    source_version: str | None = None
    source_updated_at: dt.datetime | None = None


@dataclass(frozen=True)
class ScheduleData:
    external_id: str
    # How the actors name the location: "Location/x", identifier values and "system|value".
    location_refs: tuple[str, ...]
    practitioner: str | None
    service_codes: tuple[str, ...]
    active: bool = True
    order: Ordering = field(default_factory=Ordering)


@dataclass(frozen=True)
class SlotData:
    external_id: str
    schedule_id: str  # the sender's Schedule id
    status: str
    start: dt.datetime
    end: dt.datetime
    service_codes: tuple[str, ...] = ()
    appointment_type: str | None = None
    order: Ordering = field(default_factory=Ordering)
    # Canonical slots name the location and practitioner themselves.
    location_id: str | None = None
    practitioner: str | None = None


Parsed = ScheduleData | SlotData


class Invalid(Exception):
    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("invalid resource")
        self.problems = problems


def _instant(value: Any, path: str, out: list[Problem], *, required: bool) -> dt.datetime | None:
    if value is None:
        if required:
            out.append({"field": path, "message": "required"})
        return None
    parsed = parse_instant(value) if isinstance(value, str) and INSTANT.match(value) else None
    if parsed is None:
        out.append({"field": path, "message": INSTANT_MESSAGE})
    return parsed


def _codes(concepts: Any) -> tuple[str, ...]:
    """Every coding's code of a CodeableConcept or a list of them, in order."""
    items = concepts if isinstance(concepts, list) else [concepts]
    out: list[str] = []
    for concept in items:
        if not isinstance(concept, dict):
            continue
        for coding in concept.get("coding") or []:
            if isinstance(coding, dict) and isinstance(coding.get("code"), str) and coding["code"]:
                out.append(str(coding["code"])[:64])
    return tuple(dict.fromkeys(out))


def _order(resource: dict[str, Any], kind: str, out: list[Problem]) -> Ordering:
    meta = resource.get("meta")
    meta = meta if isinstance(meta, dict) else {}
    version = meta.get("versionId")
    at = _instant(meta.get("lastUpdated"), f"{kind}.meta.lastUpdated", out, required=False)
    return Ordering(str(version)[:64] if isinstance(version, str | int) else None, at)


def _id(resource: dict[str, Any], kind: str, url_id: str | None, out: list[Problem]) -> str:
    rid = resource.get("id")
    if url_id is not None:
        if rid is not None and rid != url_id:
            out.append({"field": f"{kind}.id", "message": "does not match the id in the URL"})
        rid = url_id
    if not isinstance(rid, str) or not FHIR_ID.match(rid):
        out.append({"field": f"{kind}.id", "message": "required: 1-64 of A-Z a-z 0-9 - ."})
        return ""
    return rid


def _check_type(resource: Any, kind: str) -> dict[str, Any]:
    if not isinstance(resource, dict) or resource.get("resourceType") != kind:
        raise Invalid([{"field": "resourceType", "message": f"must be {kind}"}])
    return resource


def _actors(resource: dict[str, Any], out: list[Problem]) -> tuple[tuple[str, ...], str | None]:
    actors = resource.get("actor")
    if not isinstance(actors, list) or not actors:
        out.append({"field": "Schedule.actor", "message": "at least one actor is required"})
        return (), None
    refs: list[str] = []
    practitioner = None
    for i, actor in enumerate(actors):
        if not isinstance(actor, dict):
            out.append({"field": f"Schedule.actor[{i}]", "message": "must be a Reference"})
            continue
        ref = actor.get("reference")
        ident = actor.get("identifier")
        kind = actor.get("type") or (ref.split("/")[0] if isinstance(ref, str) else None)
        if isinstance(ref, str) and ref.startswith(PROVIDER_TYPES):
            practitioner = practitioner or ref[:200]
        elif isinstance(ref, str) and ref.startswith("Location/"):
            refs.append(ref[:200])
        elif kind == "Location" and isinstance(ident, dict) and isinstance(ident.get("value"), str):
            value = ident["value"][:200]
            system = ident.get("system")
            if isinstance(system, str) and system:
                refs.append(f"{system}|{value}"[:400])
            refs.append(value)
    if not refs:
        out.append({"field": "Schedule.actor", "message": "no actor is a Location"})
    return tuple(refs), practitioner


def parse_schedule(resource: Any, url_id: str | None = None) -> ScheduleData:
    res = _check_type(resource, "Schedule")
    out: list[Problem] = []
    rid = _id(res, "Schedule", url_id, out)
    refs, practitioner = _actors(res, out)
    active = res.get("active", True)
    if not isinstance(active, bool):
        out.append({"field": "Schedule.active", "message": "must be a boolean"})
        active = True
    order = _order(res, "Schedule", out)
    if out:
        raise Invalid(out)
    return ScheduleData(rid, refs, practitioner, _codes(res.get("serviceType")), active, order)


def parse_slot(resource: Any, url_id: str | None = None) -> SlotData:
    res = _check_type(resource, "Slot")
    out: list[Problem] = []
    rid = _id(res, "Slot", url_id, out)
    schedule = res.get("schedule")
    ref = schedule.get("reference") if isinstance(schedule, dict) else None
    schedule_id = ""
    if not isinstance(ref, str) or not ref.startswith("Schedule/") or not FHIR_ID.match(ref[9:]):
        out.append({"field": "Slot.schedule", "message": "required: a reference Schedule/{id}"})
    else:
        schedule_id = ref[9:]
    status = res.get("status")
    if not isinstance(status, str) or status not in STATUSES:
        out.append({"field": "Slot.status", "message": "required: a SlotStatus code"})
    start = _instant(res.get("start"), "Slot.start", out, required=True)
    end = _instant(res.get("end"), "Slot.end", out, required=True)
    if start is not None and end is not None and end <= start:
        out.append({"field": "Slot.end", "message": "must be after start"})
    order = _order(res, "Slot", out)
    if out or start is None or end is None:
        raise Invalid(out)
    appointment_type = _codes(res.get("appointmentType"))
    return SlotData(
        external_id=rid,
        schedule_id=schedule_id,
        status=str(status),
        start=start,
        end=end,
        service_codes=_codes(res.get("serviceType")),
        appointment_type=appointment_type[0] if appointment_type else None,
        order=order,
    )


BundleType = Literal["transaction", "batch"]


@dataclass(frozen=True)
class Entry:
    index: int
    parsed: Parsed | None
    problems: tuple[Problem, ...] = ()


def _entry(i: int, entry: Any) -> Entry:
    base = f"Bundle.entry[{i}]"
    if not isinstance(entry, dict):
        return Entry(i, None, ({"field": base, "message": "must be an object"},))
    request = entry.get("request")
    method = request.get("method") if isinstance(request, dict) else None
    url = request.get("url") if isinstance(request, dict) else None
    if method != "PUT" or not isinstance(url, str):
        problem = {"field": f"{base}.request", "message": "only PUT Schedule/{id} or Slot/{id}"}
        return Entry(i, None, (problem,))
    kind, _, rid = url.strip("/").partition("/")
    parsers: dict[str, Callable[[Any, str | None], Parsed]] = {
        "Schedule": parse_schedule,
        "Slot": parse_slot,
    }
    if kind not in parsers or not FHIR_ID.match(rid):
        problem = {"field": f"{base}.request.url", "message": "must be Schedule/{id} or Slot/{id}"}
        return Entry(i, None, (problem,))
    try:
        return Entry(i, parsers[kind](entry.get("resource"), rid))
    except Invalid as exc:
        return Entry(i, None, tuple(_under(base, kind, p) for p in exc.problems))


def _under(base: str, kind: str, problem: Problem) -> Problem:
    path = problem["field"]
    if path.startswith(kind + "."):
        path = path[len(kind) + 1 :]
    return {"field": f"{base}.resource.{path}", "message": problem["message"]}


def parse_bundle(body: Any) -> tuple[BundleType, list[Entry]]:
    if not isinstance(body, dict) or body.get("resourceType") != "Bundle":
        raise Invalid([{"field": "resourceType", "message": "must be Bundle"}])
    kind = body.get("type")
    if kind not in ("transaction", "batch"):
        raise Invalid([{"field": "Bundle.type", "message": "must be transaction or batch"}])
    entries = body.get("entry", [])
    if not isinstance(entries, list):
        raise Invalid([{"field": "Bundle.entry", "message": "must be a list"}])
    return kind, [_entry(i, e) for i, e in enumerate(entries)]


def operation_outcome(
    problems: list[Problem] | tuple[Problem, ...], code: str = "invalid"
) -> dict[str, Any]:
    return {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": "error",
                "code": code,
                "diagnostics": p["message"],
                "expression": [p["field"]],
            }
            for p in problems
        ],
    }


def instant_out(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
