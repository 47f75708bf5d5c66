from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from app.appointments import fhir
from app.appointments.models import Appointment
from app.appointments.schemas import (
    AppointmentOut,
    AppointmentPatch,
)
from app.audit import service as audit
from app.db import SessionDep
from app.deps import LeadsReader, OutcomesWriter
from app.errors import BadRequest, UnsupportedMediaType
from app.leads.models import Lead
from app.lifecycle import appointment_answers as answers
from app.lifecycle import appointments
from app.tenancy import get_owned

router = APIRouter(tags=["appointments"])


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
    await answers.record_audit(session, caller, applied)
    return answers.answer(applied, as_fhir=False)


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
    resource = answers.json_body(await request.body())
    if isinstance(resource, dict) and resource.get("id") not in (None, str(appointment_id)):
        raise BadRequest("The resource `id` does not match the URL.", type="fhir-id-mismatch")
    data = fhir.parse(resource, use_id_as_external=False)
    applied = await appointments.change(session, caller.org_id, appointment_id, data=data)
    await answers.record_audit(session, caller, applied)
    return answers.answer(applied, as_fhir=True)
