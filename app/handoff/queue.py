"""The pull queue: intake members list and claim routed leads, most pressing first.

A team's queue holds its routed leads, qualified or not (a not-qualified lead routed to a
nurture team is that team's work), and only those someone may contact: a lead whose
consent allows no channel (none usable, or revoked on all) leaves it in the transaction
that revoked it, and comes back with a new grant (`leads.contact_channels`).

Claims take `SELECT … FOR UPDATE SKIP LOCKED` on the queue's head, so members claiming at
the same moment each get a different lead and never wait on one another.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import (
    ColumnElement,
    DateTime,
    Integer,
    Select,
    Uuid,
    func,
    literal,
    literal_column,
    or_,
    tuple_,
)
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import service as audit
from app.auth.service import Caller
from app.consent import eligibility
from app.consent import service as consent_service
from app.db import utcnow
from app.errors import AppError, Conflict, NotFound, Unprocessable
from app.fields import DataList, given
from app.handoff import packet
from app.leads.models import Lead
from app.outbox.service import record_event
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


class QueueList(DataList[QueueItem]):
    pass


class ClaimIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra=given("member_id", "member_external_id", exactly=True)
    )

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


# No SLA sorts after every due time, no score after every score.
NO_SLA: ColumnElement[dt.datetime] = literal_column("'infinity'::timestamptz")
NO_SCORE = 32767


def _sort_key() -> tuple[ColumnElement[Any], ...]:
    """The queue's order (emergencies first, then the earliest SLA due time, then the highest
    score, then the oldest) as ascending keys. Migration 0027 indexes these very expressions
    for each view, so a page is a range of an index and the next one starts past a key."""
    return (
        ~Lead.emergency,
        func.coalesce(Lead.sla_due_at, NO_SLA),
        func.coalesce(-Lead.score, literal_column(str(NO_SCORE))),
        Lead.received_at.expression,
        Lead.id.expression,
    )


def _order(stmt: Select[Lead], *, backwards: bool = False) -> Select[Lead]:
    return stmt.order_by(*(k.desc() if backwards else k for k in _sort_key()))


class Cursor:
    """A place in the queue: the sort key of a lead, as an opaque URL-safe string."""

    def __init__(self, emergency: bool, sla_due_at: dt.datetime | None, score: int | None,
                 received_at: dt.datetime, lead_id: uuid.UUID) -> None:  # fmt: skip
        self.key = (emergency, sla_due_at, score, received_at, lead_id)

    @classmethod
    def of(cls, lead: Lead) -> Cursor:
        return cls(lead.emergency, lead.sla_due_at, lead.score, lead.received_at, lead.id)

    def encode(self) -> str:
        emergency, sla, score, received, lead_id = self.key
        raw = [emergency, sla and sla.isoformat(), score, received.isoformat(), str(lead_id)]
        return base64.urlsafe_b64encode(json.dumps(raw).encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> Cursor:
        try:
            raw = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
            emergency, sla, score, received, lead_id = raw
            if not isinstance(emergency, bool) or not isinstance(score, int | None):
                raise ValueError(text)
            return cls(
                emergency,
                None if sla is None else _aware(dt.datetime.fromisoformat(sla)),
                score,
                _aware(dt.datetime.fromisoformat(received)),
                uuid.UUID(lead_id),
            )
        except (ValueError, TypeError, UnicodeDecodeError):
            raise Unprocessable("Invalid queue cursor.", type="invalid-cursor") from None

    def past(self, *, backwards: bool = False) -> ColumnElement[bool]:
        """Leads after this place in the queue's order (before it, `backwards`)."""
        emergency, sla, score, received, lead_id = self.key
        bound = tuple_(
            literal(not emergency),
            func.coalesce(literal(sla, DateTime(timezone=True)), NO_SLA),
            literal(NO_SCORE if score is None else -score, Integer),
            literal(received, DateTime(timezone=True)),
            literal(lead_id, Uuid),
        )
        keys = tuple_(*_sort_key())
        return keys < bound if backwards else keys > bound


def _aware(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        raise ValueError("naive time")
    return value


def _contactable() -> ColumnElement[bool]:
    return func.cardinality(Lead.contact_channels) > 0


def _constants(values: tuple[str, ...]) -> list[ColumnElement[object]]:
    # Constants, not parameters: a prepared statement's generic plan must still prove the
    # partial indexes' predicates (migration 0027).
    return [literal_column(f"'{v}'") for v in values]


def _status_filter(status: QueueStatus) -> ColumnElement[bool]:
    if status == "open":
        return (
            Lead.status.in_(_constants(WAITING_STATUSES))
            & Lead.team_id.is_not(None)
            & Lead.claimed_at.is_(None)
            & _contactable()
        )
    if status == "claimed":
        return (
            Lead.claimed_at.is_not(None)
            & Lead.status.notin_(_constants(CLOSED_STATUSES))
            & _contactable()
        )
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


def queue_statement(
    org_id: uuid.UUID,
    *,
    team_id: uuid.UUID | None,
    member_id: uuid.UUID | None,
    status: QueueStatus,
    limit: int,
    after: Cursor | None = None,
    before: Cursor | None = None,
) -> Select[Lead]:
    stmt = scoped(Lead, org_id).where(_status_filter(status), Lead.erased_at.is_(None))
    if team_id is not None:
        stmt = stmt.where(Lead.team_id == team_id)
    if member_id is not None:
        stmt = stmt.where(Lead.member_id == member_id)
    if after is not None:
        stmt = stmt.where(after.past())
    if before is not None:
        stmt = stmt.where(before.past(backwards=True))
    return _order(stmt, backwards=before is not None).limit(min(limit, MAX_LIMIT))


async def queue_leads(
    session: AsyncSession,
    org_id: uuid.UUID,
    *,
    team_id: uuid.UUID | None,
    member: str | uuid.UUID | None,
    status: QueueStatus,
    limit: int,
    after: Cursor | None = None,
    before: Cursor | None = None,
) -> list[Lead]:
    """The queue's leads, most pressing first: from its head, or the `limit` leads right
    after (before) a place in it, so any page costs what the first one does."""
    member_id = None if member is None else (await resolve_member(session, org_id, member)).id
    stmt = queue_statement(
        org_id, team_id=team_id, member_id=member_id, status=status, limit=limit,
        after=after, before=before,
    )  # fmt: skip
    rows = list((await session.execute(stmt)).scalars())
    return rows[::-1] if before is not None else rows


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
