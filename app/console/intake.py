"""The intake queue and the lead page, with the forms the front desk works with.

Every read and write goes through the services the API uses: the queue's order and claims
(app.handoff.queue), the lead read and its audit (app.lifecycle.reads), the contact policy
(app.consent.service), attempts (app.outreach.service) and appointments.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BeforeValidator, ValidationError
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from app.appointments.schemas import AppointmentIn
from app.audit import service as audit
from app.auth.scopes import Scope
from app.consent import eligibility
from app.consent import service as consent_service
from app.consent.service import ContactRefused
from app.console import lead_view, names
from app.console.auth import FormPerson, Person, SignedIn
from app.console.models import ConsoleSession
from app.console.pages import PREFIX, render
from app.db import SessionDep, utcnow
from app.errors import AppError, Unprocessable
from app.handoff import queue
from app.handoff.queue import ClaimIn, Cursor, QueueEmpty, QueueStatus
from app.leads.models import Lead
from app.lifecycle import appointments
from app.outreach import service as outreach
from app.outreach.schemas import AttemptIn
from app.routing import teams
from app.routing.models import Member
from app.routing.schemas import MemberPatch
from app.tenancy import get_owned, scoped

router = APIRouter(prefix=PREFIX, include_in_schema=False)

PAGE_SIZE = 50


async def _me(session: AsyncSession, person: SignedIn) -> Member | None:
    if person.member_id is None:
        return None
    member = await session.get(Member, person.member_id)
    return member if member and member.organization_id == person.caller.org_id else None


def _blank_is_none(value: object) -> object:
    # The filter form sends `team=` for "all teams".
    return None if value == "" else value


@router.get("/queue")
async def queue_page(
    request: Request,
    person: Person,
    session: SessionDep,
    team: Annotated[uuid.UUID | None, BeforeValidator(_blank_is_none)] = None,
    member: Annotated[uuid.UUID | None, BeforeValidator(_blank_is_none)] = None,
    status: QueueStatus = "open",
    after: Annotated[str | None, Query(max_length=400)] = None,
    before: Annotated[str | None, Query(max_length=400)] = None,
    notice: str | None = None,
) -> Response:
    """A page of 50; `after` / `before` (the links' cursors) move from the page's last or
    first lead, so every page is one index range however deep it is."""
    person.require(Scope.LEADS_READ)
    org = person.caller.org_id
    start, end = (Cursor.decode(c) if c else None for c in (after, before))

    async def read(**place: Cursor | None) -> list[Lead]:
        # One lead more than a page says whether there is more in the direction read.
        return await queue.queue_leads(
            session, org, team_id=team, member=member, status=status, limit=PAGE_SIZE + 1,
            **place,
        )  # fmt: skip

    leads, earlier = [], False
    if end and not start:
        leads = await read(before=end)
        earlier = len(leads) > PAGE_SIZE
    if earlier:
        leads, later = leads[-PAGE_SIZE:], True
    else:  # from a place onwards, or from the head (back at it from `before` too)
        leads = await read(after=start)
        leads, earlier, later = leads[:PAGE_SIZE], start is not None, len(leads) > PAGE_SIZE
    members = (
        (await session.execute(scoped(Member, org).order_by(Member.display_name))).scalars().all()
    )
    return render(
        request,
        "queue.html",
        {
            "leads": leads,
            "consent": await consent_service.summaries(session, org, leads),
            # What the whole contact policy allows right now, as `GET /v1/handoffs` says.
            "now_ok": await eligibility.channels_now(session, org, leads, utcnow()),
            "names": await names.groups(session, org),
            "members": members,
            "me": await _me(session, person),
            "filters": {"team": team, "member": member, "status": status},
            # The filters the links keep (an empty `team=` would not read as a team).
            "here": urlencode(
                {k: v for k, v in {"team": team, "member": member, "status": status}.items() if v}
            ),
            "previous": Cursor.of(leads[0]).encode() if earlier and leads else None,
            "next": Cursor.of(leads[-1]).encode() if later and leads else None,
            "now": utcnow(),
            "notice": notice,
            "may_claim": person.may(Scope.LEADS_READ) and person.may(Scope.ATTEMPTS_WRITE),
        },
        person=person,
    )


@router.post("/queue/me")
async def choose_member(
    session: SessionDep, person: FormPerson, member_id: Annotated[str, Form()] = ""
) -> Response:
    """Which intake member this person works as (kept with their sign-in)."""
    person.require(Scope.LEADS_READ)
    chosen = None
    if member_id:
        chosen = (await get_owned(session, Member, member_id, person.caller.org_id)).id
    await session.execute(
        update(ConsoleSession)
        .where(ConsoleSession.id == person.session_id)
        .values(member_id=chosen)
    )
    return RedirectResponse(f"{PREFIX}/queue", status_code=303)


async def _require_me(session: AsyncSession, person: SignedIn) -> Member:
    me = await _me(session, person)
    if me is None:
        raise Unprocessable("Choose who you are in the queue first.", type="member-not-chosen")
    return me


@router.post("/queue/status")
async def member_status(
    session: SessionDep, person: FormPerson, status: Annotated[str, Form()] = ""
) -> Response:
    """Mark yourself away or active (the member you work as)."""
    person.require(Scope.LEADS_READ, Scope.ATTEMPTS_WRITE)
    if status not in ("away", "active"):
        raise Unprocessable("Status is `away` or `active`.", type="validation-error")
    me = await _require_me(session, person)
    await teams.update_member(session, person.caller.org_id, me.id, MemberPatch(status=status))
    await audit.record(
        session, person.caller, "member.update", "member", me.id, {"fields": ["status"]}
    )
    return RedirectResponse(f"{PREFIX}/queue", status_code=303)


@router.post("/queue/claim")
async def claim_next(request: Request, session: SessionDep, person: FormPerson) -> Response:
    person.require(Scope.LEADS_READ, Scope.ATTEMPTS_WRITE)
    me = await _require_me(session, person)
    try:
        packet = await queue.claim(session, person.caller, ClaimIn(member_id=me.id))
    except QueueEmpty:
        return RedirectResponse(
            f"{PREFIX}/queue?notice=Nothing+to+claim:+no+open+lead+is+waiting+for+your+team.",
            status_code=303,
        )
    return RedirectResponse(f"{PREFIX}/leads/{packet.lead_id}", status_code=303)


# --- the lead page ------------------------------------------------------------------------


async def _lead_page(
    request: Request,
    session: AsyncSession,
    person: SignedIn,
    lead_id: uuid.UUID,
    *,
    refusal: dict[str, Any] | None = None,
    problem: str | None = None,
    status: int = 200,
    done: str | None = None,
) -> Response:
    person.require(Scope.LEADS_READ)
    context = await lead_view.build(session, person.caller, lead_id)
    context.update(
        refusal=refusal,
        problem=problem,
        done=done,
        form_id=f"console-{uuid.uuid4()}",
        may_attempt=person.may(Scope.ATTEMPTS_WRITE),
        may_book=person.may(Scope.OUTCOMES_WRITE),
    )
    return render(request, "lead.html", context, person=person, status=status)


@router.get("/leads/{lead_id}")
async def lead_page(
    lead_id: uuid.UUID,
    request: Request,
    person: Person,
    session: SessionDep,
    done: str | None = None,
) -> Response:
    return await _lead_page(request, session, person, lead_id, done=done)


@router.post("/leads/{lead_id}/attempts")
async def record_attempt(
    lead_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    person: FormPerson,
    channel: Annotated[str, Form()] = "voice",
    outcome: Annotated[str, Form()] = "",
    notes: Annotated[str, Form()] = "",
    started_at: Annotated[str, Form()] = "",
    external_id: Annotated[str | None, Form()] = None,
) -> Response:
    person.require(Scope.LEADS_READ, Scope.ATTEMPTS_WRITE)
    me = await _me(session, person)
    lead = await get_owned(session, Lead, lead_id, person.caller.org_id, for_update=True)
    try:
        body = AttemptIn(
            channel=channel,
            outcome=outcome,
            notes=notes.strip() or None,
            external_id=external_id or None,
            member_external_id=me.external_id if me else None,
            # A call made earlier is recorded at its own time, judged in the lead's local time.
            started_at=_local(started_at, lead.time_zone or "UTC"),
        )
    except ValidationError:
        return await _lead_page(
            request, session, person, lead_id, status=422,
            problem="Choose a channel and an outcome, and a time that is not in the future.",
        )  # fmt: skip
    now = utcnow()
    try:
        await outreach.record_attempt(
            session, person.caller, lead, outreach.AttemptSpec.from_api(body, now), now=now
        )
    except ContactRefused as exc:
        return await _lead_page(request, session, person, lead_id, refusal=exc.extra, status=422)
    return RedirectResponse(f"{PREFIX}/leads/{lead_id}?done=attempt", status_code=303)


def _local(value: str, zone: str) -> dt.datetime | None:
    if not value:
        return None
    try:
        naive = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return naive.replace(tzinfo=ZoneInfo(zone)) if naive.tzinfo is None else naive


@router.post("/leads/{lead_id}/appointments")
async def record_appointment(
    lead_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    person: FormPerson,
    status: Annotated[str, Form()] = "booked",
    start: Annotated[str, Form()] = "",
    appointment_id: Annotated[str, Form()] = "",
    external_id: Annotated[str | None, Form()] = None,
) -> Response:
    """Book an appointment (a time in the lead's local time), or record an outcome of one."""
    person.require(Scope.LEADS_READ, Scope.OUTCOMES_WRITE)
    org = person.caller.org_id
    lead = await get_owned(session, Lead, lead_id, org)
    try:
        if appointment_id:
            found = await appointments.change(
                session, org, appointment_id, patch={"status": status}
            )
            if found.appointment.lead_id != lead.id:
                raise Unprocessable("That appointment is not this lead's.")
            applied = found
        else:
            zone = lead.time_zone or "UTC"
            when = _local(start, zone)
            body = AppointmentIn.model_validate(
                {"status": status, "start": when, "external_id": external_id or None,
                 "end": when + dt.timedelta(minutes=30) if when else None}
            )  # fmt: skip
            applied = await appointments.submit(session, org, lead.id, body.to_data())
    except (ValidationError, AppError) as exc:
        detail = exc.detail if isinstance(exc, AppError) else "Give the appointment a time."
        return await _lead_page(
            request, session, person, lead_id, problem=detail or "Not recorded.", status=422
        )
    await audit.record(
        session, person.caller, f"appointment.{applied.outcome}", "appointment",
        applied.appointment.id,
        {"outcome": applied.outcome, "status": applied.appointment.status},
    )  # fmt: skip
    return RedirectResponse(f"{PREFIX}/leads/{lead_id}?done=appointment", status_code=303)
