"""Availability in: FHIR R4 Schedule, Slot and Bundle, and canonical JSON; holds on slots."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select

from app.audit import service as audit
from app.auth.service import Caller
from app.availability import fhir, offers, redecide
from app.availability import service as availability
from app.availability.fhir import Entry, ScheduleData, SlotData
from app.availability.models import AvailabilityFeed, Schedule, Slot
from app.availability.schemas import (
    AvailabilityIn,
    AvailabilityOut,
    FeedIn,
    FeedOut,
    SlotResult,
)
from app.db import SessionDep, utcnow
from app.deps import AdminCaller, AvailabilityWriter, LeadsReader
from app.errors import BadRequest, NotFound, Unprocessable, UnsupportedMediaType
from app.handoff import targets
from app.idempotency import idempotent
from app.tenancy import scoped

router = APIRouter(tags=["availability"])
_STATUS_TEXT = {"created": "201 Created", "invalid": "422 Unprocessable Entity"}


def _fhir_answer(body: dict[str, Any], status: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status, media_type=fhir.MEDIA_TYPE)


def _outcome_answer(problems: list[fhir.Problem]) -> JSONResponse:
    return _fhir_answer(fhir.operation_outcome(problems), 422)


async def _fhir_body(request: Request) -> Any:
    if "json" not in request.headers.get("content-type", ""):
        raise UnsupportedMediaType("Send `application/fhir+json`.")
    try:
        return json.loads(await request.body())
    except ValueError:
        raise BadRequest("The body is not valid JSON.", type="malformed-json") from None


async def _record(caller: Caller, session: SessionDep, written: availability.Written) -> None:
    counts = Counter(f"{r.kind.lower()}_{r.outcome}" for r in written.results)
    await audit.record(session, caller, "availability.write", "availability", None, dict(counts))
    await redecide.after_write(session, caller.org_id, written)


async def _slot_resource(
    session: SessionDep, org_id: uuid.UUID, external_id: str
) -> dict[str, Any]:
    stmt = (
        select(Slot, Schedule.external_id)
        .join(Schedule, Schedule.id == Slot.schedule_id)
        .where(Slot.organization_id == org_id, Slot.external_id == external_id)
    )
    row = (await session.execute(stmt)).one_or_none()
    if row is None:
        raise NotFound("No slot with this id.")
    slot, schedule_id = row
    res: dict[str, Any] = {
        "resourceType": "Slot",
        "id": slot.external_id,
        "meta": {
            "versionId": slot.source_version or str(slot.version),
            "lastUpdated": fhir.instant_out(slot.source_updated_at or slot.updated_at),
        },
        "schedule": {"reference": f"Schedule/{schedule_id}"},
        "status": offers.shown_status(slot, utcnow()),
        "start": fhir.instant_out(slot.start),
        "end": fhir.instant_out(slot.end),
    }
    if slot.service_code:
        res["serviceType"] = [{"coding": [{"code": slot.service_code}]}]
    if slot.appointment_type:
        res["appointmentType"] = {"coding": [{"code": slot.appointment_type}]}
    return res


async def _schedule_resource(
    session: SessionDep, org_id: uuid.UUID, external_id: str
) -> dict[str, Any]:
    stmt = scoped(Schedule, org_id).where(Schedule.external_id == external_id)
    row = (await session.execute(stmt)).scalar_one_or_none()
    if row is None:
        raise NotFound("No schedule with this id.")
    actors: list[dict[str, Any]] = [{"reference": f"Location/{row.location_id}"}]
    if row.practitioner:
        actors.append({"reference": row.practitioner})
    return {
        "resourceType": "Schedule",
        "id": row.external_id,
        "meta": {
            "versionId": row.source_version or str(row.version),
            "lastUpdated": fhir.instant_out(row.source_updated_at or row.updated_at),
        },
        "active": row.active,
        "actor": actors,
        "serviceType": [{"coding": [{"code": c}]} for c in row.service_codes],
    }


async def _put_one(
    request: Request, caller: Caller, session: SessionDep, entry: Entry
) -> availability.Written | JSONResponse:
    try:
        return await availability.apply(session, caller.org_id, [entry], atomic=True, bundle=False)
    except availability.AvailabilityInvalid as exc:
        return _outcome_answer(exc.extra["errors"])


async def _put_resource(
    request: Request,
    caller: Caller,
    session: SessionDep,
    resource_id: str,
    parse: Callable[[Any, str], fhir.Parsed],
    read: Callable[[SessionDep, uuid.UUID, str], Awaitable[dict[str, Any]]],
) -> JSONResponse:
    """One Schedule or Slot written under the scheduler's id; answered as we now hold it."""
    try:
        entry = Entry(0, parse(await _fhir_body(request), resource_id))
    except fhir.Invalid as exc:
        return _outcome_answer(exc.problems)
    written = await _put_one(request, caller, session, entry)
    if isinstance(written, JSONResponse):
        return written
    await _record(caller, session, written)
    resource = await read(session, caller.org_id, resource_id)
    return _fhir_answer(resource, 201 if written.results[0].outcome == "created" else 200)


@router.put("/v1/fhir/Schedule/{schedule_id}", tags=["fhir"])
async def put_schedule(
    schedule_id: str, request: Request, caller: AvailabilityWriter, session: SessionDep
) -> JSONResponse:
    """Create or replace a FHIR R4 `Schedule` under the scheduler's own id. Its `actor` names
    the location (`Location/{our id}` or an id registered in the location's `scheduler_ids`)
    and optionally a practitioner; `serviceType` codes name services (their `code` or one of
    their `scheduler_codes`). `meta.versionId` / `meta.lastUpdated` order changes: an older
    one changes nothing. Invalid resources are answered with an `OperationOutcome` (422)."""
    return await _put_resource(
        request, caller, session, schedule_id, fhir.parse_schedule, _schedule_resource
    )


@router.put("/v1/fhir/Slot/{slot_id}", tags=["fhir"])
async def put_slot(
    slot_id: str, request: Request, caller: AvailabilityWriter, session: SessionDep
) -> JSONResponse:
    """Create or replace a FHIR R4 `Slot` under the scheduler's own id. Its `schedule` must
    be a Schedule sent before. `status` free / busy / busy-tentative / busy-unavailable /
    entered-in-error; only `free` slots are offered. `serviceType` overrides the schedule's;
    `appointmentType` is matched against a service's `new_patient_slot_types`."""
    return await _put_resource(request, caller, session, slot_id, fhir.parse_slot, _slot_resource)


@router.get("/v1/fhir/Slot/{slot_id}", tags=["fhir"])
async def read_slot(slot_id: str, caller: LeadsReader, session: SessionDep) -> JSONResponse:
    """The slot as we hold it; a slot held for a lead reads `busy-tentative`."""
    return _fhir_answer(await _slot_resource(session, caller.org_id, slot_id))


@router.get("/v1/fhir/Schedule/{schedule_id}", tags=["fhir"])
async def read_schedule(schedule_id: str, caller: LeadsReader, session: SessionDep) -> JSONResponse:
    """The schedule as we hold it."""
    return _fhir_answer(await _schedule_resource(session, caller.org_id, schedule_id))


def _entry_response(result: availability.Result) -> dict[str, Any]:
    if result.outcome == "invalid":
        return {
            "response": {
                "status": _STATUS_TEXT["invalid"],
                "outcome": fhir.operation_outcome(result.problems),
            }
        }
    response: dict[str, Any] = {
        "status": _STATUS_TEXT.get(result.outcome, "200 OK"),
        "location": f"{result.kind}/{result.external_id}/_history/{result.version}",
        "etag": f'W/"{result.version}"',
    }
    if result.updated_at is not None:
        response["lastModified"] = fhir.instant_out(result.updated_at)
    if result.outcome == "ignored_older":
        response["outcome"] = {
            "resourceType": "OperationOutcome",
            "issue": [{"severity": "information", "code": "informational",
                       "diagnostics": "older than the version held; nothing changed"}],
        }  # fmt: skip
    return {"response": response}


@router.post("/v1/fhir", tags=["fhir"])
@idempotent
async def post_bundle(
    request: Request, caller: AvailabilityWriter, session: SessionDep
) -> JSONResponse:
    """A FHIR R4 `transaction` or `batch` Bundle of `PUT Schedule/{id}` and `PUT Slot/{id}`
    entries (thousands of slots at once; the body limit is the `fhir_bundle_max_bytes`
    setting, 16 MiB by default). Answered with a `transaction-response` (or
    `batch-response`) Bundle, one entry per request entry in order. In a transaction one
    invalid entry refuses them all with an `OperationOutcome` (422); in a batch it is
    answered `422` in its own entry and the others are stored."""
    try:
        kind, entries = fhir.parse_bundle(await _fhir_body(request))
    except fhir.Invalid as exc:
        return _outcome_answer(exc.problems)
    try:
        written = await availability.apply(
            session, caller.org_id, entries, atomic=kind == "transaction"
        )
    except availability.AvailabilityInvalid as exc:
        return _outcome_answer(exc.extra["errors"])
    await _record(caller, session, written)
    by_index = {r.index: r for r in written.results}
    return _fhir_answer(
        {
            "resourceType": "Bundle",
            "id": str(uuid.uuid4()),
            "type": f"{kind}-response",
            "meta": {"lastUpdated": fhir.instant_out(utcnow())},
            "entry": [_entry_response(by_index[e.index]) for e in entries],
        }
    )


def _canonical_entries(body: AvailabilityIn, practice: availability.Practice) -> list[Entry]:
    errors: list[dict[str, str]] = []
    schedules: dict[str, Entry] = {}
    slots: list[Entry] = []
    for i, s in enumerate(body.slots):
        loc_ref = f"Location/{s.location_id}"
        service = practice.service_codes([s.service])
        if practice.location([loc_ref]) is None:
            errors.append({"field": f"slots.{i}.location_id", "message": "not a location of yours"})
        if not service:
            errors.append({"field": f"slots.{i}.service", "message": "not a service code of yours"})
        if errors:
            continue
        key = f"canonical:{s.location_id}:{service[0]}:{s.practitioner or ''}"[:200]
        if key not in schedules:
            data = ScheduleData(key, (loc_ref,), s.practitioner, (service[0],))
            schedules[key] = Entry(len(body.slots) + len(schedules), data)
        order = fhir.Ordering(s.version, s.updated_at)
        slots.append(
            Entry(i, SlotData(s.id, key, s.status, s.start, s.end, (service[0],),
                              s.appointment_type, order, practitioner=s.practitioner))
        )  # fmt: skip
    if errors:
        raise Unprocessable("The slots are invalid; see `errors`.", extra={"errors": errors})
    return [*schedules.values(), *slots]


@router.put("/v1/availability", response_model=AvailabilityOut)
async def put_availability(
    body: AvailabilityIn, caller: AvailabilityWriter, session: SessionDep
) -> AvailabilityOut:
    """Slots as plain JSON, for schedulers without FHIR: each names its location and
    service; `id` is the scheduler's and makes a repeat an update. `version` or
    `updated_at` order changes like FHIR `meta`."""
    practice = await availability.Practice.load(session, caller.org_id)
    entries = _canonical_entries(body, practice)
    written = await availability.apply(session, caller.org_id, entries, atomic=True, bundle=False)
    await _record(caller, session, written)
    results = [r for r in written.results if r.kind == "Slot" and r.outcome != "invalid"]
    return AvailabilityOut(
        counts=dict(Counter(r.outcome for r in results)),
        slots=[SlotResult(id=r.external_id, outcome=r.outcome, version=r.version)
               for r in results],
    )  # fmt: skip


def _feed_out(feed: AvailabilityFeed) -> FeedOut:
    return FeedOut.model_validate(feed, from_attributes=True)


@router.put("/v1/availability/feed", response_model=FeedOut)
async def put_feed(
    body: FeedIn, request: Request, caller: AdminCaller, session: SessionDep
) -> FeedOut:
    """Poll this FHIR R4 server for free slots: every `poll_minutes` the worker reads
    `GET {base}/Slot?schedule.actor=Location/{id}&start=ge…&status=free` for each location
    (its `scheduler_ids` first), following `Bundle.link` `next`."""
    settings = request.app.state.settings
    await targets.validate_subscription_url(
        str(body.base_url), allow_private=settings.allow_private_webhook_targets
    )
    feed = (
        await session.execute(scoped(AvailabilityFeed, caller.org_id).with_for_update())
    ).scalar_one_or_none()
    if feed is None:
        feed = AvailabilityFeed(id=uuid.uuid4(), organization_id=caller.org_id)
        session.add(feed)
    feed.base_url = str(body.base_url).rstrip("/")
    feed.poll_minutes = body.poll_minutes
    feed.days_ahead = body.days_ahead
    feed.next_poll_at = utcnow()
    feed.last_error = None
    await session.flush()
    await session.refresh(feed)
    await audit.record(session, caller, "availability.feed", "availability", feed.id)
    return _feed_out(feed)


@router.get("/v1/availability/feed", response_model=FeedOut)
async def get_feed(caller: AdminCaller, session: SessionDep) -> FeedOut:
    """The polled FHIR server and how its last poll went."""
    feed = (await session.execute(scoped(AvailabilityFeed, caller.org_id))).scalar_one_or_none()
    if feed is None:
        raise NotFound("No availability feed is set.")
    return _feed_out(feed)
