"""The handoff packet: what the intake person needs to call the lead, and nothing more.

No date of birth, insurance or free-form custom fields: those stay on `GET /v1/leads/{id}`.
Building a packet decrypts personal data, so every caller audits the read.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from app.consent import service as consent_service
from app.consent import standing
from app.db import utcnow
from app.leads.identity import decrypt_pii, postal_code
from app.leads.models import Lead, Source
from app.routing.models import Member, Team
from app.scoring import availability as scoring_availability
from app.scoring import service as scoring_service

_CONTACT_KEYS = ("first_name", "last_name", "full_name", "phone", "email", "city")
EXPLANATION_FACTORS = 3


class TeamRef(BaseModel):
    id: uuid.UUID
    name: str


class MemberRef(BaseModel):
    """The member as `/v1/members/{id}` names its fields."""

    id: uuid.UUID
    display_name: str
    external_id: str | None = None


class Packet(BaseModel):
    """One lead, ready for the first call. Contains personal data."""

    lead_id: uuid.UUID
    status: str
    received_at: dt.datetime
    contact: dict[str, Any] = Field(description="Name, phone (E.164), email, city.")
    preferred_contact_method: str | None
    preferred_contact_time: str | None
    language: str | None
    service_requested: dict[str, Any] = Field(description="`code` and `text` as sent.")
    service_code: str | None = Field(description="The practice's service code matched.")
    reason: str | None
    urgency: str | None
    emergency: bool
    safety_instruction: str | None = Field(description="Say this first on an emergency.")
    location: dict[str, Any]
    source: dict[str, Any] = Field(description="Source id, name and kind, channel, campaign.")
    score: int | None
    score_band: str | None
    score_explanation: str | None
    consent: dict[str, Any] = Field(description="Per channel: granted, revoked, suppressed…")
    team: TeamRef | None
    member: MemberRef | None
    sla_due_at: dt.datetime | None
    callback_at: dt.datetime | None
    claimed_at: dt.datetime | None
    offered_slots: list[dict[str, Any]] = Field(
        default_factory=list,
        description="The earliest free slots fitting the lead at its location, read now "
        "(`id` as the scheduler sent it, `start`, `end`, `location_id`, `practitioner`, "
        "`service`): offer the first on the call.",
    )


def score_explanation(assessment: dict[str, Any]) -> str | None:
    """The factors that earned the most points, e.g. `service 30/30, distance 18/20`."""
    factors = [f for f in assessment.get("score_breakdown") or [] if f.get("points")]
    top = sorted(factors, key=lambda f: -float(f["points"]))[:EXPLANATION_FACTORS]
    return ", ".join(f"{f['factor']} {f['points']}/{f['max_points']}" for f in top) or None


def _campaign(attribution: dict[str, Any]) -> str | None:
    return attribution.get("campaign") or attribution.get("utm_campaign")


async def _assignees(session: AsyncSession, lead: Lead) -> tuple[TeamRef | None, MemberRef | None]:
    team = await session.get(Team, lead.team_id) if lead.team_id else None
    member = await session.get(Member, lead.member_id) if lead.member_id else None
    # Ids on the lead are the organisation's own; the check guards against a stale id.
    team_out = (
        TeamRef(id=team.id, name=team.name)
        if team and team.organization_id == lead.organization_id
        else None
    )
    member_out = (
        MemberRef(id=member.id, display_name=member.display_name, external_id=member.external_id)
        if member and member.organization_id == lead.organization_id
        else None
    )
    return team_out, member_out


async def _source(session: AsyncSession, lead: Lead) -> dict[str, Any]:
    source = await session.get(Source, lead.source_id) if lead.source_id else None
    attribution = lead.attribution or {}
    return {
        "source_id": lead.source_id,
        "name": source.name if source else None,
        "kind": source.kind if source else "api",
        "channel": lead.channel,
        "label": attribution.get("source") or attribution.get("utm_source"),
        "campaign": _campaign(attribution),
    }


async def build(session: AsyncSession, lead: Lead) -> Packet:
    pii = decrypt_pii(lead)
    events = await consent_service.lead_events(session, lead)
    consent = consent_service.summary(
        consent_service.current_consent(events),
        lead.do_not_contact or [],
        standing.lifted_pairs(events),
    )
    team, member = await _assignees(session, lead)
    assessment = lead.assessment or {}
    offered = await _offered_slots(session, lead)
    return Packet(
        lead_id=lead.id,
        status=lead.status,
        received_at=lead.received_at,
        contact={k: pii[k] for k in _CONTACT_KEYS if pii.get(k)},
        preferred_contact_method=lead.preferred_contact_method,
        preferred_contact_time=lead.preferred_contact_time,
        language=lead.language,
        service_requested={"code": lead.service_requested, "text": pii.get("service_text")},
        service_code=lead.service_code,
        reason=pii.get("reason"),
        urgency=lead.urgency or lead.urgency_requested,
        emergency=lead.emergency,
        safety_instruction=assessment.get("safety_instruction") if lead.emergency else None,
        location={
            "postal_code": postal_code(lead, pii),
            "state": lead.state,
            "time_zone": lead.time_zone,
            "preferred_location": lead.preferred_location,
            "location_id": lead.location_id,
            "distance_miles": lead.distance_miles,
        },
        source=await _source(session, lead),
        score=lead.score,
        score_band=lead.score_band,
        score_explanation=score_explanation(assessment),
        consent=consent,
        team=team,
        member=member,
        sla_due_at=lead.sla_due_at,
        callback_at=lead.callback_at,
        claimed_at=lead.claimed_at,
        offered_slots=offered,
    )


async def _offered_slots(session: AsyncSession, lead: Lead) -> list[dict[str, Any]]:
    if lead.availability is None:
        return []
    loaded = await scoring_service.load_practice(session, lead.organization_id)
    slots = await scoring_availability.current_offer(session, lead, loaded.compiled, utcnow())
    return [s.to_json() for s in slots]
