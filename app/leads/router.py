"""`/v1/leads` and everything under it: one router, each handler calling the domain that
decides (intake, scoring, routing, consent, outreach, appointments, availability, privacy)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response, status
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from app.appointments import fhir as appointment_fhir
from app.appointments.schemas import AppointmentList, AppointmentOut
from app.audit import queries as audit_queries
from app.audit import service as audit
from app.audit.schemas import AuditEventList
from app.auth.models import Organization
from app.auth.scopes import Scope
from app.auth.service import Caller
from app.availability import offers
from app.availability.schemas import HoldIn, HoldOut
from app.consent import eligibility as consent_eligibility
from app.consent import evidence
from app.consent import fhir as consent_fhir
from app.consent.policy import Channel, Direction, Purpose
from app.consent.schemas import ConsentView, EligibilityOut
from app.db import SessionDep, utcnow
from app.deps import (
    AdminCaller,
    AttemptsWriter,
    LeadsEraser,
    LeadsReader,
    LeadsWriter,
    OutcomesWriter,
    require_any,
)
from app.errors import PROBLEM_JSON, Conflict, Unprocessable, UnsupportedMediaType
from app.fields import Instant
from app.handoff import timeline
from app.handoff.schemas import Timeline
from app.idempotency import idempotent
from app.intake import flow
from app.intake.adapters.base import AdapterError, load_json_object
from app.intake.slots import IntakeSlot
from app.integrations import verification
from app.leads import status as lead_status
from app.leads.canonical import CanonicalLead, validation_problems
from app.leads.models import Lead
from app.leads.schemas import LeadList, LeadOut
from app.lifecycle import appointment_answers, appointments, reroute
from app.lifecycle import reads as leads_service
from app.lifecycle import reassign as reassign_service
from app.outreach import service as outreach
from app.outreach.schemas import AttemptIn, AttemptList, AttemptOut
from app.privacy.erasure import erase_lead
from app.reports import negotiate
from app.routing import service as routing
from app.routing.schemas import ReassignIn
from app.scoring import facts as lead_facts
from app.scoring.schemas import LeadFactsPatch, RescoreOut
from app.tenancy import get_owned

router = APIRouter(tags=["leads"])

# Asking before a dial is for whoever reads leads or records attempts.
Dialer = Annotated[Caller, Depends(require_any(Scope.LEADS_READ, Scope.ATTEMPTS_WRITE))]

_REFUSED = {
    422: {
        "description": "Refused by the contact policy: `type` ends in `calling-hours`, "
        "`no-consent`, `revoked` or `attempt-cap` (see `reasons` and `next_allowed_at`).",
        "content": {PROBLEM_JSON: {}},
    },
    409: {
        "description": "`external_id` reused with a different body.",
        "content": {PROBLEM_JSON: {}},
    },
}


@router.post("/v1/leads", status_code=status.HTTP_201_CREATED)
@idempotent
async def create_lead(
    request: Request, _slot: IntakeSlot, caller: LeadsWriter, session: SessionDep
) -> JSONResponse:
    """Submit one canonical lead (the `api` source). Unknown fields are rejected.

    Answers 201 with the new lead's id and status and what the pipeline decided, or 200 when
    the person already has a lead inside the duplicate window (a resubmission, linked to it).
    Send `Idempotency-Key` to make retries safe: the same key and body return the stored
    answer for 24 hours; the same key with another body is 422; a retry while the first is
    still in flight is 409.
    """
    if "json" not in request.headers.get("content-type", ""):
        raise UnsupportedMediaType("Send the lead as `application/json`.")
    body = await request.body()
    try:
        lead_in = CanonicalLead.model_validate(load_json_object(body))
    except AdapterError as exc:
        raise Unprocessable(
            "The body must be a JSON object.", type="malformed-json", status=400
        ) from exc
    except ValidationError as exc:
        raise Unprocessable(
            "The lead does not match the canonical schema; see `errors`.",
            extra={"errors": validation_problems(exc)},
        ) from None
    result = await flow.ingest(session, caller.org_id, lead_in, duplicate_window=None)
    await audit.record(
        session,
        caller,
        "lead.create",
        "lead",
        result.lead.id,
        {"resubmission": result.resubmission},
    )
    code = 200 if result.resubmission else 201
    return JSONResponse(result.summary(), status_code=code)


@router.get("/v1/leads", response_model=LeadList)
async def list_leads(
    caller: LeadsReader,
    session: SessionDep,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    source_id: uuid.UUID | None = None,
    status: str | None = None,
    service: Annotated[str | None, Query(description="Matched service code.")] = None,
    location_id: uuid.UUID | None = None,
    received_from: Instant | None = None,
    received_to: Instant | None = None,
) -> LeadList:
    """Leads, newest first, without contact details. Reading the list is audited."""
    return await leads_service.list_leads(
        session,
        caller,
        limit=limit,
        cursor=cursor,
        filters={
            "source_id": source_id,
            "status": status,
            "service_code": service,
            "location_id": location_id,
            "received_from": received_from,
            "received_to": received_to,
        },
    )


@router.get("/v1/leads/{lead_id}", response_model=LeadOut)
async def get_lead(lead_id: uuid.UUID, caller: LeadsReader, session: SessionDep) -> LeadOut:
    """One lead with its contact details, submissions, assessment and routing trace.
    Every read is audited."""
    return await leads_service.get_lead(session, caller, lead_id)


@router.delete("/v1/leads/{lead_id}", response_model=LeadOut)
async def erase(lead_id: uuid.UUID, caller: LeadsEraser, session: SessionDep) -> LeadOut:
    """Erase a lead (scope `leads:erase`). Its personal data and free text, those of its
    submissions, the raw deliveries that carried it, its contact attempts' notes and its
    appointments' identifying fields are erased in one transaction; its decisions and
    non-identifying metrics stay, so past reports do not move. Consent evidence stays under
    its legal hold, and the suppression list is untouched. Publishes `lead.erased`.

    Answers the erased lead as `GET` will from now on. Erasing it again changes nothing."""
    lead = await get_owned(session, Lead, lead_id, caller.org_id, for_update=True)
    await erase_lead(session, lead, utcnow(), reason="api", caller=caller)
    return await leads_service.lead_out(session, lead)


@router.patch("/v1/leads/{lead_id}/facts", response_model=RescoreOut)
async def update_facts(
    lead_id: uuid.UUID, body: LeadFactsPatch, caller: LeadsWriter, session: SessionDep
) -> RescoreOut:
    """Correct what a lead asked for (service, reason, urgency, timeframe, preferred
    location, language, insurance, new patient, date of birth, ZIP) and re-score it with
    the practice as it is now. The change is audited by field name; values are not."""
    lead = await get_owned(session, Lead, lead_id, caller.org_id, for_update=True)
    if lead.erased_at is not None or lead.pii is None:
        raise Conflict("This lead has no data to re-score (erased or not yet retrieved).")
    changes = body.model_dump(exclude_unset=True)
    lead_facts.apply_changes(lead, changes)
    # Re-scored, and routed again if its needs moved and nobody has reached the person yet.
    answer = await reroute.redecide(session, lead, "facts changed: " + ", ".join(sorted(changes)))
    await session.flush()
    fields = sorted(changes)
    await audit.record(session, caller, "lead.rescore", "lead", lead.id, {"fields": fields})
    return RescoreOut(
        lead_id=lead.id,
        status=lead.status,
        changed=fields,
        scoring_version=lead.scoring_version or "",
        **answer,
    )


@router.post("/v1/leads/{lead_id}/reassign")
@idempotent
async def reassign_lead(
    lead_id: uuid.UUID, body: ReassignIn, caller: LeadsWriter, session: SessionDep
) -> dict[str, Any]:
    """Move a lead to a member, or to a team whose strategy picks a member (or queues it).
    Needs `leads:write` (supervisors do this, not only admins). The move and its reason are
    appended to the lead's routing trace; the audit log records who moved it where."""
    lead = await reassign_service.reassign(session, caller, lead_id, body)
    return {"lead_id": str(lead.id), "status": lead.status, **routing.answer(lead)}


@router.get("/v1/leads/{lead_id}/timeline", response_model=Timeline)
async def lead_timeline(lead_id: uuid.UUID, caller: LeadsReader, session: SessionDep) -> Timeline:
    """Everything that happened to the lead, in order: submissions, routing, contact,
    consent and appointment events. Identifiers and codes only; reading it is audited."""
    result = await timeline.timeline(session, caller.org_id, lead_id)
    await audit.record(session, caller, "lead.timeline.read", "lead", lead_id)
    return result


@router.get(
    "/v1/leads/{lead_id}/access-log",
    response_model=AuditEventList,
    responses=negotiate.CSV_DOC,
)
async def lead_access_log(
    lead_id: uuid.UUID,
    request: Request,
    caller: AdminCaller,
    session: SessionDep,
    from_: Annotated[Instant | None, Query(alias="from")] = None,
    to: Instant | None = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=audit_queries.MAX_LIMIT)] = 100,
) -> Response:
    """Every audited request about this lead (`admin`): reads of it, lists that returned it,
    changes, refusals; with the key, time and IP of each. The answer to "who has seen this
    person's data?" during an incident."""
    lead = await get_owned(session, Lead, lead_id, caller.org_id)
    filters = audit_queries.Filters(target_id=str(lead.id), since=from_, until=to)
    rows, next_cursor = await audit_queries.page(
        session, caller.org_id, filters, limit=limit, cursor=cursor
    )
    page = AuditEventList(data=rows, next_cursor=next_cursor)
    return negotiate.answer(
        request,
        page,
        audit_queries.csv_rows,
        "access-log",
        audit_queries.CSV_COLUMNS,
        next_cursor=next_cursor,
    )


@router.get(
    "/v1/leads/{lead_id}/consent",
    response_model=ConsentView,
    responses={200: {"content": {consent_fhir.FHIR_JSON: {}}}},
)
async def get_consent(
    lead_id: uuid.UUID,
    caller: LeadsReader,
    session: SessionDep,
    format: Annotated[
        Literal["json", "fhir"], Query(description="`fhir`: an R4 Bundle of Consent.")
    ] = "json",
) -> ConsentView | JSONResponse:
    """The lead's consent events (append-only evidence, with the disclosure text exactly as
    shown) and the consent currently in force per channel and purpose. Every read is audited.
    """
    view = await evidence.consent_view(
        session, caller, lead_id, verifications=verification.of_lead, format=format
    )
    if format == "json":
        return view
    org = await session.get_one(Organization, caller.org_id)
    body = consent_fhir.bundle(view, org.id, org.name, utcnow())
    return JSONResponse(body, media_type=consent_fhir.FHIR_JSON)


@router.get("/v1/leads/{lead_id}/contact-eligibility", response_model=EligibilityOut)
async def contact_eligibility(
    lead_id: uuid.UUID,
    channel: Channel,
    caller: Dialer,
    session: SessionDep,
    at: Annotated[Instant | None, Query(description="Default: now.")] = None,
    purpose: Purpose = Purpose.SCHEDULING,
    direction: Direction = Direction.OUTBOUND,
) -> EligibilityOut:
    """May this lead be contacted on `channel` now (or `at`)? Ask before every dial or text.

    Checks consent on the channel for the `purpose`, revocations and the suppression list,
    the calling hours of every jurisdiction the ZIP and the phone's area code point to (the
    stricter wins) and the 24-hour attempt caps. When refused, `reasons` lists every rule
    broken, most decisive first, and `next_allowed_at` says when waiting helps (null: it
    will not, e.g. no consent).
    """
    lead = await get_owned(session, Lead, lead_id, caller.org_id)
    return await consent_eligibility.for_lead(
        session, caller, lead, channel, at or utcnow(), purpose, direction
    )


@router.post(
    "/v1/leads/{lead_id}/contact-attempts",
    status_code=status.HTTP_201_CREATED,
    response_model=AttemptOut,
    responses=_REFUSED,  # type: ignore[arg-type]
)
@idempotent
async def create_attempt(
    lead_id: uuid.UUID, body: AttemptIn, caller: AttemptsWriter, session: SessionDep
) -> JSONResponse:
    """Record a call, text or email to (or from) the lead, as your dialer or agent made it.

    The contact policy is checked at `started_at` in the lead's local time: consent on the
    channel, revocations, calling hours and the 24-hour attempt caps. A refused attempt is
    not recorded. With the `admin` scope, `override_reason` records it anyway (audited).
    Retries with the same `external_id` and body answer the same (header
    `Idempotent-Replayed: true`). The first attempt sets the lead's speed to lead; outcome
    `do_not_contact_requested` revokes consent on every channel at once. Each attempt is
    sent as a `contact.attempted` event.
    """
    lead = await get_owned(session, Lead, lead_id, caller.org_id, for_update=True)
    now = utcnow()
    spec = outreach.AttemptSpec.from_api(body, now)
    attempt, created = await outreach.record_attempt(session, caller, lead, spec, now=now)
    headers = {} if created else {"Idempotent-Replayed": "true"}
    out = outreach.to_out(attempt).model_dump(mode="json")
    return JSONResponse(out, status_code=status.HTTP_201_CREATED, headers=headers)


@router.get("/v1/leads/{lead_id}/contact-attempts", response_model=AttemptList)
async def list_attempts(
    lead_id: uuid.UUID, caller: LeadsReader, session: SessionDep
) -> AttemptList:
    """The lead's contact attempts, oldest first (notes are kept encrypted and not listed)."""
    lead = await get_owned(session, Lead, lead_id, caller.org_id)
    rows = await outreach.list_attempts(session, caller.org_id, lead.id)
    audit.note(caller, None, ids=[str(a.id) for a in rows])
    return AttemptList(data=[outreach.to_out(a) for a in rows])


@router.post(
    "/v1/leads/{lead_id}/appointments",
    status_code=201,
    response_model=AppointmentOut,
    openapi_extra={
        "requestBody": {"content": {"application/json": {}, appointment_fhir.MEDIA_TYPE: {}}}
    },
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
    as_fhir = ctype.startswith(appointment_fhir.MEDIA_TYPE)
    if "json" not in ctype:
        raise UnsupportedMediaType("Send `application/json` or `application/fhir+json`.")
    raw = await request.body()
    if as_fhir:
        data = appointment_fhir.parse(appointment_answers.json_body(raw))
    else:
        data = appointment_answers.canonical(raw).to_data()
    applied = await appointments.submit(session, caller.org_id, lead_id, data)
    await appointment_answers.record_audit(session, caller, applied)
    return appointment_answers.answer(applied, as_fhir)


@router.get("/v1/leads/{lead_id}/appointments", response_model=AppointmentList)
async def list_appointments(
    lead_id: uuid.UUID, caller: LeadsReader, session: SessionDep
) -> AppointmentList:
    """The lead's appointments, oldest first."""
    lead, rows = await appointments.list_for_lead(session, caller.org_id, lead_id)
    audit.note(caller, None, ids=[str(a.id) for a in rows])
    return AppointmentList(data=[appointments.to_out(a, lead.status) for a in rows])


@router.post("/v1/leads/{lead_id}/slot-holds", status_code=201, response_model=HoldOut)
@idempotent
async def hold_slot(
    lead_id: uuid.UUID, body: HoldIn, caller: LeadsWriter, session: SessionDep
) -> HoldOut:
    """Hold a free slot for this lead for `minutes` while the caller books it, so another
    caller is not offered the same one. It reads `busy-tentative` to everyone else and is
    released when the time is up; holding it again extends the hold. 409 when it is no
    longer free or another lead holds it."""
    lead = await get_owned(session, Lead, lead_id, caller.org_id)
    lead_status.refuse_if_erased(lead)
    now = utcnow()
    slot = await offers.hold(session, lead, body.slot_id, body.minutes, now)
    await audit.record(session, caller, "slot.hold", "lead", lead.id, {"minutes": body.minutes})
    assert slot.held_until is not None
    return HoldOut(
        lead_id=lead.id,
        slot_id=slot.external_id,
        start=slot.start,
        end=slot.end,
        location_id=slot.location_id,
        held_until=slot.held_until,
        status=offers.shown_status(slot, now),
    )
