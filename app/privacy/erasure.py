"""Erasing a lead: its personal data and free text go, its decisions and metrics stay.

One function, `erase_lead`, used by `DELETE /v1/leads/{id}`, erasure requests and the
retention job, inside the caller's transaction. Rows are kept and their identifying fields
nulled or replaced by a marker, so reports for past periods give the same figures:

- the lead: every encrypted blob (contact details, free text, and whatever encrypted field
  a later change adds), the keyed hashes (a new lead with the same phone is a new person to
  dedup; the suppression list, keyed on its own hashes, still blocks it), the source's id
  for the person, free-text answers (the five-digit ZIP is in the encrypted document; the
  row's Safe Harbor ZIP3, state and time zone stay);
  attribution and assessment keep only codes (app.privacy.scrub);
- its submissions: their encrypted payloads, external ids and click ids;
- the raw bodies of the inbox deliveries that carried it;
- its contact attempts' notes and override reasons (the attempts stay: who, when, outcome);
- its appointments' scheduling-system id (replaced by a marker) and provider.

Consent events and disclosures are evidence under their own legal hold (`retain_until`) and
stay, with their keyed hashes; so does the suppression list.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import structlog
from sqlalchemy import LargeBinary, func, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.appointments.models import Appointment
from app.audit import service as audit
from app.auth.service import Caller
from app.crypto import keyed_hash
from app.db import Base
from app.intake.models import InboxDelivery
from app.leads.models import Lead, LeadSubmission
from app.outbox import service as outbox
from app.outreach.models import ContactAttempt
from app.privacy import scrub

log = structlog.get_logger("app.privacy")

# Free-text answers kept in the clear on the lead (codes like language stay).
_LEAD_TEXT = (
    "external_id",
    "service_requested",
    "requested_timeframe",
    "preferred_contact_time",
    "preferred_location",
    "insurance_plan",
    "phone_hash",
    "email_hash",
)


_has_text = or_(
    ContactAttempt.notes_enc.is_not(None), ContactAttempt.override_reason_enc.is_not(None)
)


def _blobs(model: type[Base]) -> dict[str, None]:
    """Every encrypted column of the model, nulled: they hold personal data by design."""
    return {c.key: None for c in model.__table__.columns if isinstance(c.type, LargeBinary)}


async def erase_lead(
    session: AsyncSession,
    lead: Lead,
    now: dt.datetime,
    *,
    reason: str,
    caller: Caller | None = None,
) -> bool:
    """Erase one lead (locked by the caller); False when it was erased already."""
    if lead.erased_at is not None:
        return False
    for column in _LEAD_TEXT:
        setattr(lead, column, None)
    for column in _blobs(Lead):
        setattr(lead, column, None)
    lead.attribution = scrub.attribution(lead.attribution)
    lead.assessment = scrub.assessment(lead.assessment)
    lead.routing_trace = scrub.routing_trace(lead.routing_trace)
    lead.erased_at = now
    await session.flush()
    inbox_ids = await _erase_submissions(session, lead)
    await _drop_bodies(session, lead, inbox_ids, now)
    await session.execute(
        update(ContactAttempt)
        .where(ContactAttempt.lead_id == lead.id, _has_text)
        .values(notes_enc=None, override_reason_enc=None)
        .execution_options(synchronize_session=False)
    )
    await _erase_appointments(session, lead)
    details: dict[str, Any] = {"reason": reason}
    await audit.record(
        session, caller, "lead.erase", "lead", lead.id, details, org_id=lead.organization_id
    )
    await outbox.emit(
        session,
        lead.organization_id,
        "lead.erased",
        {"erased_at": now, "reason": reason, "status": lead.status},
        lead.id,
        at=now,
    )
    return True


async def _erase_submissions(session: AsyncSession, lead: Lead) -> list[uuid.UUID]:
    subs = list(
        (
            await session.execute(
                select(LeadSubmission).where(LeadSubmission.lead_id == lead.id).with_for_update()
            )
        ).scalars()
    )
    for sub in subs:
        for column in _blobs(LeadSubmission):
            setattr(sub, column, None)
        sub.external_id = None
        sub.attribution = scrub.attribution(sub.attribution)
    await session.flush()
    return [s.inbox_id for s in subs if s.inbox_id is not None]


async def _drop_bodies(
    session: AsyncSession, lead: Lead, inbox_ids: list[uuid.UUID], now: dt.datetime
) -> None:
    """The raw deliveries that carried the lead: the submissions' own, and any whose answer
    names it (a call-status callback, a Meta notification whose lead was retrieved later)."""
    lead_ref = str(lead.id)
    names_lead = or_(
        InboxDelivery.response_body.contains({"lead_id": lead_ref}),
        InboxDelivery.response_body["leads"].contains([{"lead_id": lead_ref}]),
    )
    carried = InboxDelivery.id.in_(inbox_ids) if inbox_ids else literal(False)
    await session.execute(
        update(InboxDelivery)
        .where(InboxDelivery.organization_id == lead.organization_id, or_(carried, names_lead))
        .values(
            body=None,
            headers={},
            body_dropped_at=func.coalesce(InboxDelivery.body_dropped_at, now),
        )
        .execution_options(synchronize_session=False)
    )


async def _erase_appointments(session: AsyncSession, lead: Lead) -> None:
    rows = (
        await session.execute(
            select(Appointment.id, Appointment.external_id).where(Appointment.lead_id == lead.id)
        )
    ).all()
    for appointment_id, external_id in rows:
        # The scheduling system's id points at the person's record there: a keyed marker
        # keeps the row unique without it.
        marker = f"erased:{keyed_hash('appointment', external_id)[:32]}" if external_id else None
        await session.execute(
            update(Appointment)
            .where(Appointment.id == appointment_id)
            .values(external_id=marker, provider=None, updated_at=Appointment.updated_at)
            .execution_options(synchronize_session=False)
        )
