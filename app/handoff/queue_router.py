from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from app.audit import service as audit
from app.auth.scopes import Scope
from app.auth.service import Caller
from app.db import SessionDep
from app.deps import CallerDep, LeadsReader
from app.errors import Forbidden
from app.handoff import queue
from app.handoff.packet import Packet
from app.handoff.queue import ClaimIn, QueueList, QueueStatus
from app.idempotency import idempotent

router = APIRouter(tags=["handoff (pull queue)"])


async def _agent(caller: CallerDep) -> Caller:
    # Claiming reads the packet (personal data) and changes who owns the lead.
    if not (caller.has(Scope.LEADS_READ) and caller.has(Scope.ATTEMPTS_WRITE)):
        raise Forbidden("Claiming needs the `leads:read` and `attempts:write` scopes.")
    return caller


@router.get("/v1/handoffs", response_model=QueueList)
async def list_handoffs(
    caller: LeadsReader,
    session: SessionDep,
    team: uuid.UUID | None = None,
    member: Annotated[str | None, Query(description="Member id or external id.")] = None,
    status: Annotated[
        QueueStatus,
        Query(
            description="`open`: routed (qualified or not), not yet contacted or claimed; "
            "`claimed`: claimed and still open work; `all`: every routed lead, contactable "
            "or not."
        ),
    ] = "open",
    limit: Annotated[int, Query(ge=1, le=queue.MAX_LIMIT)] = 50,
) -> QueueList:
    """The queue, most pressing first: emergencies, then the earliest SLA due time, then the
    highest score. `open` and `claimed` hold only leads someone may contact: a lead whose
    consent allows no channel (none on record, or revoked on every channel) leaves at once
    and comes back with a new grant. Each item says which `channels` its consent allows and
    which of them (`channels_now`) the contact policy allows for scheduling right now.
    Items are summaries without personal data; `POST /v1/handoffs/claim` (or
    `GET /v1/handoffs/{lead_id}`) returns the full packet. It is a queue, not an archive:
    read the head (`limit` ≤ 100) rather than paging through it."""
    listed = await queue.list_queue(
        session, caller.org_id, team_id=team, member=member, status=status, limit=limit
    )
    audit.note(caller, None, ids=[str(i.lead_id) for i in listed.data])
    return listed


@router.post("/v1/handoffs/claim", response_model=Packet)
@idempotent
async def claim_handoff(
    body: ClaimIn, caller: Annotated[Caller, Depends(_agent)], session: SessionDep
) -> Packet:
    """Take the next lead: the most pressing open lead of the member's team that is either
    unassigned or already the member's. Members claiming at the same moment always get
    different leads. Answers the handoff packet, or 404 `queue-empty`. Audited."""
    return await queue.claim(session, caller, body)


@router.get("/v1/handoffs/{lead_id}", response_model=Packet)
async def get_handoff(lead_id: uuid.UUID, caller: LeadsReader, session: SessionDep) -> Packet:
    """The handoff packet of one lead: contact details, what they asked for, urgency and the
    safety instruction, location, source, score, consent per channel, owner and SLA. Audited."""
    return await queue.read_packet(session, caller, lead_id)
