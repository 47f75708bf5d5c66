"""FHIR R4 `Appointment`: the minimal reading and writing a scheduling integration needs.

We read status, start/end, identifiers (the first, with its system), cancellation reason (code
only: its text is free text and may describe the patient), service type and the Location /
Practitioner participants (the practitioner's element kept as sent, to be answered so).
The Patient participant is not kept: the lead already names the person.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

from app.appointments.core import AppointmentData, Problem, invariant_problems
from app.appointments.models import Appointment
from app.errors import Unprocessable
from app.fields import INSTANT_MESSAGE, parse_instant

MEDIA_TYPE = "application/fhir+json"
INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
PARTICIPANT_STATUSES = frozenset({"accepted", "declined", "tentative", "needs-action"})
PROVIDER_TYPES = ("Practitioner/", "PractitionerRole/")
LEAD_SYSTEM = "https://lead-router.dev/fhir/lead-id"
# A practitioner's participant element is kept and answered as sent, up to this size.
ACTOR_TEXT = ("reference", "type", "display")
MAX_PARTICIPANT = 2000


class FhirError(Unprocessable):
    type, title = "fhir-validation", "Invalid FHIR Appointment"


def _instant(
    resource: dict[str, Any], key: str, field: str, out: list[Problem]
) -> dt.datetime | None:
    value = resource.get(key)
    if value is None:
        return None
    parsed = parse_instant(value) if isinstance(value, str) and INSTANT.match(value) else None
    if parsed is None:
        out.append({"field": field, "message": INSTANT_MESSAGE})
    return parsed


def _code(concept: Any) -> str | None:
    """The first coding's code of a CodeableConcept (or of the first of a list of them)."""
    if isinstance(concept, list):
        concept = concept[0] if concept else None
    if not isinstance(concept, dict):
        return None
    for coding in concept.get("coding") or []:
        if isinstance(coding, dict) and isinstance(coding.get("code"), str):
            return str(coding["code"])[:64]
    return None


def _participants(resource: dict[str, Any], out: list[Problem]) -> dict[str, Any]:
    refs: dict[str, Any] = {}
    parts = resource.get("participant")
    if not isinstance(parts, list) or not parts:
        out.append({"field": "participant", "message": "at least one participant is required"})
        return refs
    for i, p in enumerate(parts):
        if not isinstance(p, dict):
            out.append({"field": f"participant[{i}]", "message": "must be an object"})
            continue
        status = p.get("status")
        known_status = isinstance(status, str) and status in PARTICIPANT_STATUSES
        if not known_status:
            out.append({"field": f"participant[{i}].status", "message": "required code"})
        actor = p.get("actor")
        ref = actor.get("reference") if isinstance(actor, dict) else None
        if not p.get("type") and not isinstance(actor, dict):
            out.append({"field": f"participant[{i}]", "message": "type or actor is required"})
        if isinstance(ref, str) and ref.startswith("Location/"):
            refs.setdefault("location", ref[:200])
        elif (
            isinstance(ref, str)
            and ref.startswith(PROVIDER_TYPES)
            and "provider" not in refs
            and known_status
        ):
            refs["provider"] = ref[:200]
            refs["provider_participant"] = _as_sent(p)
    return refs


def _as_sent(participant: dict[str, Any]) -> dict[str, Any]:
    """The practitioner's participant element as sent: the members the published schema
    names, of the types it names, if it is of sane size."""
    actor = participant["actor"]
    kept: dict[str, Any] = {
        "actor": {k: actor[k] for k in ACTOR_TEXT if isinstance(actor.get(k), str)},
        "status": participant["status"],
    }
    ident = actor.get("identifier")
    if isinstance(ident, dict):
        kept["actor"]["identifier"] = {k: v for k, v in ident.items() if isinstance(v, str)}
    if isinstance(participant.get("type"), list):
        kept["type"] = [t for t in participant["type"] if isinstance(t, dict)]
    if isinstance(participant.get("required"), str):
        kept["required"] = participant["required"]
    if isinstance(participant.get("period"), dict):
        kept["period"] = participant["period"]
    if len(json.dumps(kept, default=str)) <= MAX_PARTICIPANT:
        return kept
    return {"actor": {"reference": actor["reference"]}, "status": participant["status"]}


def _first_identifier(resource: dict[str, Any]) -> dict[str, Any] | None:
    for ident in resource.get("identifier") or []:
        if isinstance(ident, dict) and isinstance(ident.get("value"), str) and ident["value"]:
            return ident
    return None


def _external_id(resource: dict[str, Any]) -> str | None:
    ident = _first_identifier(resource)
    if ident is not None:
        return str(ident["value"])[:200]
    rid = resource.get("id")
    return str(rid)[:200] if isinstance(rid, str) and rid else None


def _system(resource: dict[str, Any]) -> str | None:
    """The `system` of the identifier `external_id` comes from."""
    system = (_first_identifier(resource) or {}).get("system")
    return system[:200] if isinstance(system, str) and system else None


def _slots(resource: dict[str, Any]) -> tuple[str, ...]:
    refs = resource.get("slot")
    if not isinstance(refs, list):
        return ()
    return tuple(
        str(r["reference"])[:200]
        for r in refs
        if isinstance(r, dict) and isinstance(r.get("reference"), str)
    )


def _service(resource: dict[str, Any]) -> str | None:
    return _code(resource.get("serviceType")) or _code(resource.get("appointmentType"))


def parse(resource: Any, *, use_id_as_external: bool = True) -> AppointmentData:
    """Validate an R4 Appointment (R5's `cancellationReason` spelling is accepted too)."""
    if not isinstance(resource, dict) or resource.get("resourceType") != "Appointment":
        raise FhirError("The body must be a FHIR Appointment resource.")
    out: list[Problem] = []
    status = resource.get("status")
    if not isinstance(status, str):
        out.append({"field": "status", "message": "required"})
        status = ""
    meta_elem = resource.get("meta")
    meta: dict[str, Any] = meta_elem if isinstance(meta_elem, dict) else {}
    version = meta.get("versionId")
    reason_elem = resource.get("cancelationReason", resource.get("cancellationReason"))
    data = AppointmentData(
        status=status,
        external_id=_external_id(resource) if use_id_as_external else _identifier(resource),
        external_system=_system(resource),
        cancellation_reason=(_code(reason_elem) or "other") if reason_elem else None,
        service=_service(resource),
        start=_instant(resource, "start", "start", out),
        end=_instant(resource, "end", "end", out),
        source_version=str(version)[:64] if isinstance(version, str | int) else None,
        source_updated_at=_instant(meta, "lastUpdated", "meta.lastUpdated", out),
        slots=_slots(resource),
        **_participants(resource, out),
    )
    out.extend(p for p in invariant_problems(data) if p not in out)
    if out:
        raise FhirError("The Appointment is invalid; see `errors`.", extra={"errors": out})
    return data


def _identifier(resource: dict[str, Any]) -> str | None:
    return _external_id({k: v for k, v in resource.items() if k != "id"})


def _ref(value: str, default_type: str) -> str:
    return value if "/" in value else f"{default_type}/{value}"


def _instant_out(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def to_fhir(appt: Appointment) -> dict[str, Any]:
    """Our stored appointment as R4. `meta` echoes the sender's version when it sent one, so
    a read-modify-write round trip keeps ordering on the sender's clock."""
    lead = {"type": "Patient", "identifier": {"system": LEAD_SYSTEM, "value": str(appt.lead_id)}}
    participants: list[dict[str, Any]] = [{"actor": lead, "status": "accepted"}]
    if appt.provider and appt.provider_participant:
        participants.append(appt.provider_participant)
    elif appt.provider:
        participants.append(
            {"actor": {"reference": _ref(appt.provider, "Practitioner")}, "status": "accepted"}
        )
    if appt.location:
        participants.append(
            {"actor": {"reference": _ref(appt.location, "Location")}, "status": "accepted"}
        )
    res: dict[str, Any] = {
        "resourceType": "Appointment",
        "id": str(appt.id),
        "meta": {
            "versionId": appt.source_version or str(appt.version),
            "lastUpdated": _instant_out(appt.source_updated_at or appt.updated_at),
        },
        "status": appt.status,
        "participant": participants,
    }
    if appt.external_id:
        ident = {"value": appt.external_id}
        res["identifier"] = (
            [{"system": appt.external_system, **ident}] if appt.external_system else [ident]
        )
    if appt.cancellation_reason:
        res["cancelationReason"] = {"coding": [{"code": appt.cancellation_reason}]}
    if appt.service:
        res["serviceType"] = [{"coding": [{"code": appt.service}]}]
    if appt.start is not None and appt.end is not None:
        res["start"], res["end"] = _instant_out(appt.start), _instant_out(appt.end)
    return res
