"""An appointment's HTTP shapes: its body read as JSON or FHIR, its answer, its audit row."""

from __future__ import annotations

import json
from typing import Any

from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from app.appointments import fhir
from app.appointments.schemas import AppointmentIn
from app.audit import service as audit
from app.auth.service import Caller
from app.errors import BadRequest, Unprocessable
from app.lifecycle import appointments


def json_body(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        raise BadRequest("The body is not valid JSON.", type="malformed-json") from None


def canonical(raw: bytes) -> AppointmentIn:
    try:
        return AppointmentIn.model_validate(json_body(raw))
    except ValidationError as exc:
        errors = [
            {"field": ".".join(str(p) for p in e["loc"]) or "body", "message": e["msg"]}
            for e in exc.errors(include_input=False)
        ]
        raise Unprocessable(
            "The appointment does not match the schema; see `errors`.", extra={"errors": errors}
        ) from None


def answer(applied: appointments.Applied, as_fhir: bool) -> JSONResponse:
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


async def record_audit(
    session: AsyncSession, caller: Caller, applied: appointments.Applied
) -> None:
    # Against the lead: "who changed this person's data" finds it with the lead's reads.
    appt = applied.appointment
    await audit.record(
        session, caller, f"appointment.{applied.outcome}", "lead", appt.lead_id,
        {"appointment_id": str(appt.id), "outcome": applied.outcome, "status": appt.status},
    )  # fmt: skip
