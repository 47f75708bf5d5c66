"""Moving a lead by hand: to a member directly, or to a team whose strategy then picks."""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import service as audit
from app.auth.service import Caller
from app.db import utcnow
from app.errors import Conflict
from app.leads.identity import REASSIGN_REASONS, decrypt_pii, encrypt_pii
from app.leads.models import Lead
from app.leads.status import refresh
from app.outbox import service as outbox
from app.routing import service
from app.routing.models import Member, Team
from app.routing.rules import compile_ruleset
from app.routing.schemas import ReassignIn
from app.tenancy import get_owned

REASSIGN_RULE = "reassign"


async def _to_team(session: AsyncSession, caller: Caller, lead: Lead, team: Team) -> dict[str, Any]:
    # A one-rule rule set reuses the whole decision: hours, rotation, overflow, SLA.
    ruleset = compile_ruleset(
        {"rules": [{"id": REASSIGN_RULE, "name": "reassign", "team_id": str(team.id)}]},
        lead.ruleset_version or 0,
    )
    facts = service.facts_for(lead, await service.source_kind(session, lead))
    # The emergency shortcut would send it straight back to the urgent team; the SLA
    # still follows the emergency clock.
    if facts.emergency:
        facts = dataclasses.replace(facts, emergency=False, urgency="emergency")
    now = utcnow()
    decision, rows = await service.decide(session, caller.org_id, facts, ruleset, now)
    await service.save_rotation(session, decision, rows, now)
    lead.team_id = uuid.UUID(decision.team_id)
    lead.member_id = uuid.UUID(decision.member_id) if decision.member_id else None
    lead.callback_at = decision.callback_at
    lead.sla_due_at = decision.sla_due_at
    return service.decision_doc(decision)


async def _to_member(
    session: AsyncSession, caller: Caller, lead: Lead, member_id: uuid.UUID
) -> None:
    member = await get_owned(session, Member, member_id, caller.org_id)
    if member.status == "inactive":
        raise Conflict("This member is inactive and cannot take leads.")
    lead.team_id = member.team_id
    lead.member_id = member.id
    lead.callback_at = None


async def reassign(
    session: AsyncSession, caller: Caller, lead_id: uuid.UUID, body: ReassignIn
) -> Lead:
    lead = await get_owned(session, Lead, lead_id, caller.org_id, for_update=True)
    before = {
        "team_id": str(lead.team_id) if lead.team_id else None,
        "member_id": str(lead.member_id) if lead.member_id else None,
    }
    decision: dict[str, Any] | None = None
    if body.member_id is not None:
        await _to_member(session, caller, lead, body.member_id)
    else:
        assert body.team_id is not None
        team = await get_owned(session, Team, body.team_id, caller.org_id)
        decision = await _to_team(session, caller, lead, team)
    now = utcnow()
    after = {
        "team_id": str(lead.team_id) if lead.team_id else None,
        "member_id": str(lead.member_id) if lead.member_id else None,
    }
    event_id = uuid.uuid4().hex[:12]
    event = {"type": "reassign", "id": event_id, "at": now.isoformat(),
             "from": before, "to": after, "decision": decision}  # fmt: skip
    # The reason is free text and may name the patient: it is kept in the lead's encrypted
    # document (erased with it), and joined to its event when the lead is read.
    pii = decrypt_pii(lead)
    pii[REASSIGN_REASONS] = {**pii.get(REASSIGN_REASONS, {}), event_id: body.reason}
    lead.pii = encrypt_pii(lead.id, pii)
    trace = dict(lead.routing_trace or {})
    trace["events"] = [*trace.get("events", []), event]
    lead.routing_trace = trace
    lead.routed_at = lead.routed_at or now
    refresh(lead)
    await session.flush()
    await audit.record(
        session, caller, "lead.reassign", "lead", lead.id, {"from": before, "to": after}
    )
    await outbox.emit(
        session,
        caller.org_id,
        "lead.reassigned",
        {**outbox.lead_data(lead), "from": before},
        lead_id=lead.id,
        at=now,
    )
    return lead
