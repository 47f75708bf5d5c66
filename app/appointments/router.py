from __future__ import annotations

import json
import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from app.appointments import fhir
from app.appointments import service as appointments
from app.appointments.models import Appointment
from app.appointments.schemas import (
    AppointmentIn,
    AppointmentList,
    AppointmentOut,
    AppointmentPatch,
)
from app.audit import service as audit
from app.auth.deps import LeadsReader, OutcomesWriter
from app.auth.service import Caller
from app.db import SessionDep
from app.errors import BadRequest, Unprocessable, UnsupportedMediaType
from app.idempotency import idempotent
from app.leads.models import Lead
from app.tenancy import get_owned

router = APIRouter(tags=["appointments"])


def _json_body(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        raise BadRequest("The body is not valid JSON.", type="malformed-json") from None


def _canonical(raw: bytes) -> AppointmentIn:
    try:
        return AppointmentIn.model_validate(_json_body(raw))
    except ValidationError as exc:
        errors = [
            {"field": ".".join(str(p) for p in e["loc"]) or "body", "message": e["msg"]}
            for e in exc.errors(include_input=False)
        ]
        raise Unprocessable(
            "The appointment does not match the schema; see `errors`.", extra={"errors": errors}
        ) from None


def _answer(applied: appointments.Applied, as_fhir: bool) -> JSONResponse:
    code = 201 if applied.outcome == "created" else 200
    # The FHIR answer is the resource itself; the header tells its sender what the change did.
    headers = {"Appointment-Outcome": applied.outcome}
    if as_fhir:
        return JSONResponse(
            fhir.to_fhir(applied.appointment),
            status_code=code,
            media_type=fhir.MEDIA_TYPE,
            headers=headers,
        )
    return JSONResponse(applied.out().model_dump(mode="json"), status_code=code, headers=headers)


async def _audit(caller: Caller, session: SessionDep, action: str, applied: Any) -> None:
    # Against the lead: "who changed this person's data" finds it with the lead's reads.
    appt = applied.appointment
    await audit.record(
        session, caller, action, "lead", appt.lead_id,
        {"appointment_id": str(appt.id), "outcome": applied.outcome, "status": appt.status},
    )  # fmt: skip


@router.post(
    "/v1/leads/{lead_id}/appointments",
    status_code=201,
    response_model=AppointmentOut,
    openapi_extra={"requestBody": {"content": {"application/json": {}, fhir.MEDIA_TYPE: {}}}},
)
@idempotent
async def create_appointment(
    lead_id: uuid.UUID, request: Request, caller: OutcomesWriter, session: SessionDep
) -> JSONResponse:
    """Record an appointment for a lead, as canonical JSON or as a FHIR R4 `Appointment`
    (`Content-Type: application/fhir+json`; the answer is then FHIR too).

    An `external_id` (FHIR: the first `identifier`) seen before updates that appointment:
    replays answer 200 with `unchanged`, older versions 200 with `ignored_older`, and a status
    change FHIR does not allow answers 409. A rebooking after a no-show is a new appointment.
    """
    ctype = request.headers.get("content-type", "")
    as_fhir = ctype.startswith(fhir.MEDIA_TYPE)
    if "json" not in ctype:
        raise UnsupportedMediaType("Send `application/json` or `application/fhir+json`.")
    raw = await request.body()
    data = fhir.parse(_json_body(raw)) if as_fhir else _canonical(raw).to_data()
    applied = await appointments.submit(session, caller.org_id, lead_id, data)
    await _audit(caller, session, f"appointment.{applied.outcome}", applied)
    return _answer(applied, as_fhir)


@router.get("/v1/leads/{lead_id}/appointments", response_model=AppointmentList)
async def list_appointments(
    lead_id: uuid.UUID, caller: LeadsReader, session: SessionDep
) -> AppointmentList:
    """The lead's appointments, oldest first."""
    lead, rows = await appointments.list_for_lead(session, caller.org_id, lead_id)
    audit.note(caller, None, ids=[str(a.id) for a in rows])
    return AppointmentList(data=[appointments.to_out(a, lead.status) for a in rows])


@router.get("/v1/appointments/{appointment_id}", response_model=AppointmentOut)
async def get_appointment(
    appointment_id: uuid.UUID, caller: LeadsReader, session: SessionDep
) -> AppointmentOut:
    """One appointment, with its lead's current status."""
    appt = await get_owned(session, Appointment, appointment_id, caller.org_id)
    lead = await get_owned(session, Lead, appt.lead_id, caller.org_id)
    audit.note(caller, ("lead", lead.id), appointment_id=str(appt.id))
    return appointments.to_out(appt, lead.status)


@router.patch("/v1/appointments/{appointment_id}", response_model=AppointmentOut)
async def patch_appointment(
    appointment_id: uuid.UUID, body: AppointmentPatch, caller: OutcomesWriter, session: SessionDep
) -> JSONResponse:
    """Change some canonical fields. Send `version` or `updated_at` so that a change arriving
    late cannot undo a newer one."""
    patch: dict[str, object] = body.model_dump(exclude_unset=True)
    if "version" in patch:
        version = patch.pop("version")
        patch["source_version"] = str(version)[:64] if version is not None else None
    if "updated_at" in patch:
        patch["source_updated_at"] = patch.pop("updated_at")
    applied = await appointments.change(session, caller.org_id, appointment_id, patch=patch)
    await _audit(caller, session, f"appointment.{applied.outcome}", applied)
    return _answer(applied, as_fhir=False)


@router.get("/v1/fhir/Appointment/{appointment_id}", tags=["fhir"])
async def read_fhir_appointment(
    appointment_id: uuid.UUID, caller: LeadsReader, session: SessionDep
) -> JSONResponse:
    """The appointment as a FHIR R4 `Appointment`."""
    appt = await get_owned(session, Appointment, appointment_id, caller.org_id)
    audit.note(caller, ("lead", appt.lead_id), appointment_id=str(appt.id))
    return JSONResponse(fhir.to_fhir(appt), media_type=fhir.MEDIA_TYPE)


@router.put("/v1/fhir/Appointment/{appointment_id}", tags=["fhir"])
async def update_fhir_appointment(
    appointment_id: uuid.UUID, request: Request, caller: OutcomesWriter, session: SessionDep
) -> JSONResponse:
    """Replace the appointment with a FHIR R4 `Appointment` (`application/fhir+json`).
    `meta.versionId` or `meta.lastUpdated` order the changes: an older one changes nothing."""
    if "json" not in request.headers.get("content-type", ""):
        raise UnsupportedMediaType("Send `application/fhir+json`.")
    await get_owned(session, Appointment, appointment_id, caller.org_id)
    resource = _json_body(await request.body())
    if isinstance(resource, dict) and resource.get("id") not in (None, str(appointment_id)):
        raise BadRequest("The resource `id` does not match the URL.", type="fhir-id-mismatch")
    data = fhir.parse(resource, use_id_as_external=False)
    applied = await appointments.change(session, caller.org_id, appointment_id, data=data)
    await _audit(caller, session, f"appointment.{applied.outcome}", applied)
    return _answer(applied, as_fhir=True)
