"""The outbox and the lead timeline: what every domain calls when something happens.

`emit` writes the event, one delivery per matching active subscription and one job per
delivery, all in the caller's transaction: the event leaves only if the change commits, and
the job's NOTIFY wakes a worker on commit. Payloads are thin (ids, codes, times), never
contact details or free text; integrators fetch the lead through the audited API.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, get_args

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app import configcache
from app.db import utcnow
from app.direct import Target, execute_many
from app.jobs import service as jobs
from app.leads.models import Lead
from app.outbox import queries
from app.outbox.models import LeadEvent, WebhookMessage, WebhookSubscription
from app.tenancy import scoped

EventType = Literal[
    "lead.received",
    "lead.routed",
    "lead.reassigned",
    "lead.sla_breached",
    "lead.erased",
    "contact.attempted",
    "consent.revoked",
    "consent.granted",
    "appointment.booked",
    "appointment.updated",
]
EVENT_TYPES: tuple[str, ...] = get_args(EventType)
DELIVER = "webhook.deliver"


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


async def record_event(
    session: AsyncSession,
    lead: Lead,
    type: str,
    data: dict[str, Any] | None = None,
    *,
    at: dt.datetime | None = None,
) -> None:
    """Append a fact to the lead's timeline (identifiers and codes only, never PHI)."""
    await _append(session, lead.organization_id, lead.id, type, data or {}, at)


async def _append(
    session: AsyncSession,
    org_id: uuid.UUID,
    lead_id: uuid.UUID,
    type: str,
    data: dict[str, Any],
    at: dt.datetime | None,
) -> None:
    await session.execute(
        insert(LeadEvent).values(
            organization_id=org_id,
            lead_id=lead_id,
            type=type,
            data=_jsonable(data),
            occurred_at=at or utcnow(),
        )
    )


async def emit(
    session: AsyncSession,
    org_id: uuid.UUID,
    event_type: str,
    data: dict[str, Any],
    lead_id: uuid.UUID | None = None,
    *,
    at: dt.datetime | None = None,
) -> str:
    """Publish an event: outbox row, deliveries, jobs, and (with `lead_id`) a timeline entry.

    Returns the message id (`msg_…`). `data` must hold identifiers, codes and times only.
    """
    return (await emit_many(session, org_id, [(event_type, data, at)], lead_id))[0]


async def emit_many(
    session: AsyncSession,
    org_id: uuid.UUID,
    events: Sequence[tuple[str, dict[str, Any], dt.datetime | None]],
    lead_id: uuid.UUID | None = None,
) -> list[str]:
    """Publish several events of one change, as `emit` does each: (type, data, at) in order.

    Their timeline entries are written by one statement (intake emits two per lead).
    """
    prepared: list[tuple[str, Any, dt.datetime]] = []
    for event_type, data, at in events:
        if event_type not in EVENT_TYPES:
            raise ValueError(f"unknown event type {event_type}")
        body = _jsonable({**data, "lead_id": lead_id} if lead_id else data)
        prepared.append((event_type, body, at or utcnow()))
    if lead_id is not None:
        await execute_many(
            session,
            queries.TIMELINE,
            [
                {"organization_id": org_id, "lead_id": lead_id, "type": event_type,
                 "data": body, "occurred_at": now}
                for event_type, body, now in prepared
            ],
        )  # fmt: skip
    outbox = _Outbox()
    ids = [
        outbox.add(org_id, t, body, lead_id, now, await _subscribers(session, org_id, t))
        for t, body, now in prepared
    ]
    await outbox.write(session)
    return ids


@dataclass
class _Outbox:
    """The rows of one change's events, written by one statement per table: with a
    subscriber, an event is a message, a delivery and a job, and intake emits two."""

    messages: list[dict[str, Any]] = field(default_factory=list)
    deliveries: list[dict[str, Any]] = field(default_factory=list)

    def add(
        self,
        org_id: uuid.UUID,
        event_type: str,
        body: Any,
        lead_id: uuid.UUID | None,
        now: dt.datetime,
        subs: Sequence[Subscriber],
    ) -> str:
        message_id = uuid.uuid4()
        msg_id = WebhookMessage.format_id(message_id)
        if not subs:
            # Nobody to deliver to: an outbox row would only be dead weight on intake.
            return msg_id
        self.messages.append(
            {"id": message_id, "organization_id": org_id, "event_type": event_type,
             "lead_id": lead_id, "created_at": now,
             "payload": {"type": event_type, "timestamp": now.isoformat(), "data": body}}
        )  # fmt: skip
        for sub in subs:
            self.deliveries.append(
                {"id": uuid.uuid4(), "organization_id": org_id, "message_id": message_id,
                 "subscription_id": sub.id, "event_type": event_type, "status": "pending",
                 "attempts": 0, "redeliveries": 0, "next_attempt_at": now, "created_at": now,
                 # Unique per message and subscription, the same on every retry: the
                 # receiver's idempotency key.
                 "webhook_id": f"{msg_id}_{sub.id.hex[:12]}"}
            )  # fmt: skip
        return msg_id

    async def write(self, session: AsyncSession) -> None:
        await execute_many(session, queries.MESSAGE, self.messages)
        await execute_many(session, queries.DELIVERY, self.deliveries)
        await jobs.enqueue_many(
            session,
            DELIVER,
            [
                jobs.NewJob({"delivery_id": str(d["id"])}, d["organization_id"],
                            d["next_attempt_at"], _dedupe_key(d["id"], 0, 0))
                for d in self.deliveries
            ],
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Subscriber:
    id: uuid.UUID
    event_types: frozenset[str]


async def _subscribers(
    session: AsyncSession, org_id: uuid.UUID, event_type: str
) -> list[Subscriber]:
    """Active subscriptions for the event, cached under the configuration version."""

    async def load() -> tuple[Subscriber, ...]:
        stmt = scoped(WebhookSubscription, org_id).where(WebhookSubscription.active.is_(True))
        rows = (await session.execute(stmt)).scalars()
        return tuple(Subscriber(s.id, frozenset(s.event_types)) for s in rows)

    subs = await configcache.cached(session, org_id, "webhook_subscriptions", load)
    return [s for s in subs if event_type in s.event_types]


def _dedupe_key(delivery_id: uuid.UUID, redeliveries: int, attempts: int) -> str:
    """One queued job per attempt of a delivery."""
    return f"{delivery_id}:{redeliveries}:{attempts}"


class Scheduled(Protocol):
    """What names a delivery's next attempt: a `WebhookDelivery`, or the worker's copy."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def organization_id(self) -> uuid.UUID: ...
    @property
    def redeliveries(self) -> int: ...
    @property
    def attempts(self) -> int: ...


async def schedule(target: Target, delivery: Scheduled, run_at: dt.datetime) -> None:
    """Queue the next attempt; the dedupe key keeps one queued job per attempt."""
    await schedule_many(target, [delivery], run_at)


async def schedule_many(
    target: Target, deliveries: Sequence[Scheduled], run_at: dt.datetime
) -> None:
    """Queue the next attempt of each, in one round trip."""
    await jobs.enqueue_many(
        target,
        DELIVER,
        [
            jobs.NewJob({"delivery_id": str(d.id)}, d.organization_id, run_at,
                        _dedupe_key(d.id, d.redeliveries, d.attempts))
            for d in deliveries
        ],
    )  # fmt: skip


def lead_data(lead: Lead) -> dict[str, Any]:
    """The thin description of a lead carried by lead.* events: ids, codes and times only."""
    return {
        "status": lead.status,
        "source_id": lead.source_id,
        "channel": lead.channel,
        "is_test": lead.is_test,
        "received_at": lead.received_at,
        "service_code": lead.service_code,
        "location_id": lead.location_id,
        "score_band": lead.score_band,
        # So a call-center system can page someone without fetching the lead.
        "urgency": lead.urgency,
        "emergency": lead.emergency,
        "team_id": lead.team_id,
        "member_id": lead.member_id,
        "routed_at": lead.routed_at,
        "sla_due_at": lead.sla_due_at,
    }
