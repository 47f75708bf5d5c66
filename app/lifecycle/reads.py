"""Reading leads: one place that decrypts, shapes and audits them."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app import pagination
from app.audit import service as audit
from app.auth.service import Caller
from app.leads.identity import REASSIGN_REASONS, decrypt_pii, postal_code
from app.leads.models import Lead, LeadSubmission
from app.leads.schemas import LeadList, LeadListItem, LeadOut, Submission
from app.routing import trace as routing_trace
from app.scoring.service import assessment_view
from app.tenancy import get_owned, scoped

_CONTACT_KEYS = ("first_name", "last_name", "full_name", "phone", "phone_raw", "email",
                 "date_of_birth", "address", "city")  # fmt: skip


def to_out(lead: Lead, submissions: list[LeadSubmission]) -> LeadOut:
    pii = decrypt_pii(lead)
    return LeadOut(
        id=lead.id,
        status=lead.status,
        received_at=lead.received_at,
        last_submitted_at=lead.last_submitted_at,
        source_id=lead.source_id,
        channel=lead.channel,
        external_id=lead.external_id,
        is_test=lead.is_test,
        erased_at=lead.erased_at,
        contact={k: pii[k] for k in _CONTACT_KEYS if k in pii},
        request={
            "service_code": lead.service_requested,
            "service_text": pii.get("service_text"),
            "reason": pii.get("reason"),
            "urgency": lead.urgency_requested,
            "requested_timeframe": lead.requested_timeframe,
            "preferred_contact_method": lead.preferred_contact_method,
            "preferred_contact_time": lead.preferred_contact_time,
            "preferred_location": lead.preferred_location,
            "language": lead.language,
            "insurance": pii.get("insurance"),
            "new_patient": lead.new_patient,
            "referral": pii.get("referral"),
            "custom": pii.get("custom"),
        },
        location_facts={
            "postal_code": postal_code(lead, pii),
            "zip3": lead.zip3,
            "state": lead.state,
            "time_zone": lead.time_zone,
            "phone_state": lead.phone_state,
        },
        attribution=lead.attribution,
        normalization_flags=lead.normalization_flags,
        resubmission_count=lead.resubmission_count,
        submissions=[
            Submission(
                id=s.id,
                source_id=s.source_id,
                received_at=s.received_at,
                is_resubmission=s.is_resubmission,
                channel=s.channel,
                external_id=s.external_id,
                attribution=s.attribution,
                normalization_flags=s.normalization_flags,
            )
            for s in submissions
        ],
        assessment=_assessment(lead, pii),
        routing=_routing(lead, pii),
        contact_summary={
            "do_not_contact": lead.do_not_contact,
            "first_attempt_at": lead.first_attempt_at,
            "first_connected_at": lead.first_connected_at,
            "consent_unverified": lead.consent_unverified,
        },
    )


def _assessment(lead: Lead, pii: dict[str, Any]) -> dict[str, Any]:
    return {
        "service_code": lead.service_code,
        "location_id": lead.location_id,
        "distance_miles": lead.distance_miles,
        "urgency": lead.urgency,
        "emergency": lead.emergency,
        "qualified": lead.qualified,
        "score": lead.score,
        "score_band": lead.score_band,
        "scoring_version": lead.scoring_version,
        # Availability of the matched service when the lead was decided (app.scoring).
        "flags": ["no_availability"] if lead.availability == "no_availability" else [],
        "first_slot_at": lead.first_slot_at,
        **assessment_view(lead.assessment, pii),
    }


def _routing(lead: Lead, pii: dict[str, Any]) -> dict[str, Any]:
    return {
        "team_id": lead.team_id,
        "member_id": lead.member_id,
        "ruleset_version": lead.ruleset_version,
        "rule_id": lead.rule_id,
        "routed_at": lead.routed_at,
        "callback_at": lead.callback_at,
        "sla_due_at": lead.sla_due_at,
        "trace": routing_trace.flat(lead.routing_trace, pii.get(REASSIGN_REASONS)),
    }


async def lead_out(session: AsyncSession, lead: Lead) -> LeadOut:
    """The lead with its submissions, oldest first."""
    subs = (
        await session.execute(
            scoped(LeadSubmission, lead.organization_id)
            .where(LeadSubmission.lead_id == lead.id)
            .order_by(LeadSubmission.received_at, LeadSubmission.id)
        )
    ).scalars()
    return to_out(lead, list(subs))


async def get_lead(session: AsyncSession, caller: Caller, lead_id: uuid.UUID) -> LeadOut:
    lead = await get_owned(session, Lead, lead_id, caller.org_id)
    await audit.record(session, caller, "lead.read", "lead", lead.id)
    return await lead_out(session, lead)


async def list_leads(
    session: AsyncSession,
    caller: Caller,
    *,
    limit: int,
    cursor: str | None = None,
    filters: dict[str, Any] | None = None,
) -> LeadList:
    """Newest first, keyset-paginated on (received_at, id)."""
    stmt = scoped(Lead, caller.org_id)
    for column, value in (filters or {}).items():
        if value is None:
            continue
        if column == "received_from":
            stmt = stmt.where(Lead.received_at >= value)
        elif column == "received_to":
            stmt = stmt.where(Lead.received_at < value)
        else:
            stmt = stmt.where(getattr(Lead, column) == value)
    if cursor:
        at, lid = pagination.decode("leads", cursor, uuid.UUID)
        stmt = stmt.where(pagination.older(Lead.received_at, Lead.id, at, lid))
    rows = list(
        (
            await session.execute(
                stmt.order_by(Lead.received_at.desc(), Lead.id.desc()).limit(limit + 1)
            )
        ).scalars()
    )
    page, more = rows[:limit], len(rows) > limit
    # The ids returned, so `GET /v1/audit-events?target_id=` finds list reads of a lead too.
    ids = [str(r.id) for r in page]
    await audit.record(session, caller, "lead.list", "lead", None, {"count": len(page), "ids": ids})
    return LeadList(
        data=[LeadListItem.model_validate(r, from_attributes=True) for r in page],
        next_cursor=(
            pagination.encode("leads", page[-1].received_at, page[-1].id) if more else None
        ),
    )
