"""The pull queue: intake members list and claim routed leads, most pressing first.

A team's queue holds its routed leads, qualified or not (a not-qualified lead routed to a
nurture team is that team's work), and only those someone may contact: a lead whose
consent allows no channel (none usable, or revoked on all) leaves it in the transaction
that revoked it, and comes back with a new grant (`leads.contact_channels`).

Claims take `SELECT … FOR UPDATE SKIP LOCKED` on the queue's head, so members claiming at
the same moment each get a different lead and never wait on one another.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import ColumnElement, Select, func, or_
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import service as audit
from app.auth.service import Caller
from app.consent import eligibility
from app.consent import service as consent_service
from app.db import utcnow
from app.errors import AppError, Conflict, NotFound, Unprocessable
from app.handoff import packet
from app.handoff.service import record_event
from app.leads.models import Lead
from app.routing.models import Member
from app.routing.service import CLOSED_STATUSES
from app.tenancy import get_owned, scoped

QueueStatus = Literal["open", "claimed", "all"]
MAX_LIMIT = 100
# Statuses of routed work not yet done: `not_qualified` is the nurture team's work.
WAITING_STATUSES = ("routed", "not_qualified")
# A claim that finds the head's consent gone stale looks this far down before giving up.
CLAIM_RECHECKS = 5


class QueueEmpty(AppError):
    status, type, title = 404, "queue-empty", "Nothing to claim"


class QueueItem(BaseModel):
    """A packet summary: ids, codes and times, no personal data (claim for the packet)."""

    model_config = ConfigDict(from_attributes=True)

    lead_id: uuid.UUID = Field(validation_alias="id")
    status: str
    received_at: dt.datetime
    emergency: bool
    urgency: str | None
    service_code: str | None
    location_id: uuid.UUID | None
    score: int | None
    score_band: str | None
    team_id: uuid.UUID | None
    member_id: uuid.UUID | None
    sla_due_at: dt.datetime | None
    callback_at: dt.datetime | None
    claimed_at: dt.datetime | None
    sla_breached_at: dt.datetime | None
    channels: list[str] = Field(
        validation_alias="contact_channels",
        description="Channels the consent on record allows (some purpose): evidence, "
        "revocations and the suppression list. A lead with none is not in the queue.",
    )
    channels_now: list[str] = Field(
        default_factory=list,
        description="Of those, the channels the whole contact policy allows for scheduling "
        "right now: calling hours where the lead is, attempt caps.",
    )


class QueueList(BaseModel):
    data: list[QueueItem]


class ClaimIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    member_id: uuid.UUID | None = None
    member_external_id: str | None = Field(default=None, min_length=1, max_length=200)
    team_id: uuid.UUID | None = Field(
        default=None, description="Default: the member's team (it must be that team)."
    )

    @model_validator(mode="after")
    def _one_member(self) -> ClaimIn:
        if (self.member_id is None) == (self.member_external_id is None):
            raise ValueError("send exactly one of member_id or member_external_id")
        return self


def _order(stmt: Select[Lead]) -> Select[Lead]:
    return stmt.order_by(
        Lead.emergency.desc(),
        Lead.sla_due_at.asc().nulls_last(),
        Lead.score.desc().nulls_last(),
        Lead.received_at,
        Lead.id,
    )


def _contactable() -> ColumnElement[bool]:
    return func.cardinality(Lead.contact_channels) > 0


def _status_filter(status: QueueStatus) -> ColumnElement[bool]:
    if status == "open":
        return (
            Lead.status.in_(WAITING_STATUSES)
            & Lead.team_id.is_not(None)
            & Lead.claimed_at.is_(None)
            & _contactable()
        )
    if status == "claimed":
        return Lead.claimed_at.is_not(None) & Lead.status.notin_(CLOSED_STATUSES) & _contactable()
    return Lead.team_id.is_not(None)


async def resolve_member(
    session: AsyncSession, org_id: uuid.UUID, member: str | uuid.UUID
) -> Member:
    """A member by id or by the call-center system's external id; another org's is a 404."""
    if isinstance(member, uuid.UUID):
        return await get_owned(session, Member, member, org_id)
    try:
        return await get_owned(session, Member, uuid.UUID(member), org_id)
    except (ValueError, NotFound):
        found = (
            await session.execute(scoped(Member, org_id).where(Member.external_id == member))
        ).scalar_one_or_none()
        if found is None:
            raise NotFound("No such member.") from None
        return found


async def queue_leads(
    session: AsyncSession,
    org_id: uuid.UUID,
    *,
    team_id: uuid.UUID | None,
    member: str | uuid.UUID | None,
    status: QueueStatus,
    limit: int,
    offset: int = 0,
) -> list[Lead]:
    """The queue's leads, most pressing first (the console pages through it with `offset`)."""
    stmt = scoped(Lead, org_id).where(_status_filter(status), Lead.erased_at.is_(None))
    if team_id is not None:
        stmt = stmt.where(Lead.team_id == team_id)
    if member is not None:
        stmt = stmt.where(Lead.member_id == (await resolve_member(session, org_id, member)).id)
    ordered = _order(stmt).limit(min(limit, MAX_LIMIT)).offset(offset)
    return list((await session.execute(ordered)).scalars())


async def list_queue(
    session: AsyncSession,
    org_id: uuid.UUID,
    *,
    team_id: uuid.UUID | None,
    member: str | None,
    status: QueueStatus,
    limit: int,
) -> QueueList:
    rows = await queue_leads(
        session, org_id, team_id=team_id, member=member, status=status, limit=limit
    )
    now_ok = await eligibility.channels_now(session, org_id, rows, utcnow())
    return QueueList(
        data=[
            QueueItem.model_validate(r).model_copy(update={"channels_now": now_ok[r.id]})
            for r in rows
        ]
    )


async def claim(
    session: AsyncSession, caller: Caller, body: ClaimIn, now: dt.datetime | None = None
) -> packet.Packet:
    """Give the member the most pressing open lead of their team: unassigned or theirs."""
    now = now or utcnow()
    who = body.member_id if body.member_id is not None else body.member_external_id
    assert who is not None
    member = await resolve_member(session, caller.org_id, who)
    if member.status == "inactive":
        raise Conflict("This member is inactive and cannot take leads.")
    if body.team_id is not None and body.team_id != member.team_id:
        raise Unprocessable("The member is not in this team.", type="member-not-in-team")
    lead = await _take(session, caller.org_id, member)
    lead.member_id, lead.claimed_at = member.id, now
    await session.flush()
    await record_event(session, lead, "handoff.claimed", {"member_id": member.id}, at=now)
    await audit.record(
        session, caller, "handoff.claim", "lead", lead.id, {"member_id": str(member.id)}
    )
    return await packet.build(session, lead)


async def _take(session: AsyncSession, org_id: uuid.UUID, member: Member) -> Lead:
    """The head of the member's queue, locked. The filter runs again on the row as locked
    (PostgreSQL re-reads it under the lock), and the consent is then derived afresh from
    the evidence: a lead whose stored channels went stale is corrected (kept when another
    lead is claimed) and passed over."""
    skipped: list[uuid.UUID] = []
    for _ in range(CLAIM_RECHECKS):
        stmt = scoped(Lead, org_id).where(
            _status_filter("open"),
            Lead.erased_at.is_(None),
            Lead.team_id == member.team_id,
            or_(Lead.member_id.is_(None), Lead.member_id == member.id),
            Lead.id.notin_(skipped),
        )
        locked = _order(stmt).limit(1).with_for_update(skip_locked=True)
        lead = (
            await session.execute(locked.execution_options(populate_existing=True))
        ).scalar_one_or_none()
        if lead is None:
            break
        if await consent_service.refresh_contact_channels(session, lead):
            return lead
        skipped.append(lead.id)
    raise QueueEmpty("No open lead is waiting for this member's team.")


async def read_packet(session: AsyncSession, caller: Caller, lead_id: uuid.UUID) -> packet.Packet:
    lead = await get_owned(session, Lead, lead_id, caller.org_id)
    await audit.record(session, caller, "handoff.packet_read", "lead", lead.id)
    return await packet.build(session, lead)
