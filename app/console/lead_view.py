"""What the lead page shows, read through the services the API answers with."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.service import Caller
from app.consent import service as consent_service
from app.consent.models import CHANNELS
from app.consent.policy import Channel, Direction, Purpose
from app.consent.standing import lifted_pairs
from app.console import names, words
from app.db import utcnow
from app.handoff import timeline
from app.leads.models import Lead
from app.lifecycle import appointments
from app.lifecycle import reads as leads_service
from app.outreach import service as outreach
from app.tenancy import get_owned

PURPOSES = [p.value for p in Purpose]


async def eligibility(session: AsyncSession, lead: Lead) -> list[dict[str, Any]]:
    """ "May we call (text, email) now?": the contact policy's answer per channel, as
    `GET /v1/leads/{id}/contact-eligibility` gives it for scheduling."""
    now = utcnow()
    past = await consent_service.load_past_attempts(session, lead, now)
    out = []
    for channel in Channel:
        decision = await consent_service.check_policy(
            session, lead, channel, Direction.OUTBOUND, now, past, purpose=Purpose.SCHEDULING
        )
        out.append(
            {
                "channel": channel.value,
                "allowed": decision.allowed,
                "reasons": [consent_service.reason_dict(v) for v in decision.reasons],
                "next_allowed_at": decision.next_allowed_at,
                "time_zones": list(decision.time_zones),
                "applied": list(decision.applied),
            }
        )
    return out


def consent_grid(current: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for channel in CHANNELS:
        per_purpose = current.get(channel, {})
        rows.append(
            {
                "channel": channel,
                "purposes": {
                    p: (per_purpose[p].decision if p in per_purpose else "none") for p in PURPOSES
                },
                "captured": {p: per_purpose[p].captured_at for p in PURPOSES if p in per_purpose},
            }
        )
    return rows


async def build(session: AsyncSession, caller: Caller, lead_id: uuid.UUID) -> dict[str, Any]:
    # The read the API audits as `lead.read`; another organisation's id is a 404 here.
    out = await leads_service.get_lead(session, caller, lead_id)
    lead = await get_owned(session, Lead, lead_id, caller.org_id)
    events = await consent_service.lead_events(session, lead)
    current = consent_service.current_consent(events)
    _, appts = await appointments.list_for_lead(session, caller.org_id, lead.id)
    lookup = await names.groups(session, caller.org_id)
    return {
        "lead": out,
        "zone": lead.time_zone or "UTC",
        "names": lookup,
        "trace": words.trace_in_words(out.routing, lookup),
        "consent": consent_grid(current),
        "consent_summary": consent_service.summary(
            current, lead.do_not_contact or [], lifted_pairs(events)
        ),
        "eligibility": await eligibility(session, lead),
        "attempts": [outreach.to_out(a) for a in await outreach.list_attempts(
            session, caller.org_id, lead.id)],
        "appointments": [appointments.to_out(a, lead.status) for a in appts],
        "timeline": await timeline.timeline(session, caller.org_id, lead.id),
        "purposes": PURPOSES,
    }  # fmt: skip
