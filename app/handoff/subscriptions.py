"""Webhook subscriptions and their deliveries, as the organisation's admin manages them."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy import update as sa_update
from sqlalchemy.ext.asyncio import AsyncSession

from app import pagination
from app.config import Settings
from app.crypto import cipher
from app.db import utcnow
from app.errors import Conflict
from app.handoff.schemas import SubscriptionCreate, SubscriptionPatch
from app.handoff.targets import validate_subscription_url
from app.outbox import service
from app.outbox.models import WebhookDelivery, WebhookSubscription
from app.signatures import generate_whsec
from app.tenancy import get_owned, scoped


def _context(sub_id: uuid.UUID) -> str:
    return f"webhook-secret:{sub_id}"


def decrypt_secret(sub_id: uuid.UUID, secret_enc: bytes) -> str:
    return cipher().decrypt(secret_enc, _context(sub_id)).decode()


async def create(
    session: AsyncSession, org_id: uuid.UUID, body: SubscriptionCreate, settings: Settings
) -> tuple[WebhookSubscription, str]:
    await validate_subscription_url(body.url, allow_private=settings.allow_private_webhook_targets)
    sub_id = uuid.uuid4()
    secret = generate_whsec()
    sub = WebhookSubscription(
        id=sub_id,
        organization_id=org_id,
        url=body.url,
        description=body.description,
        event_types=sorted(set(body.event_types)),
        secret_enc=cipher().encrypt(secret, _context(sub_id)),
        active=body.active,
    )
    session.add(sub)
    await session.flush()
    await session.refresh(sub)
    return sub, secret


async def update(
    session: AsyncSession,
    org_id: uuid.UUID,
    sub_id: uuid.UUID,
    body: SubscriptionPatch,
    settings: Settings,
) -> WebhookSubscription:
    sub = await get_owned(session, WebhookSubscription, sub_id, org_id, for_update=True)
    changes = body.model_dump(exclude_unset=True)
    if changes.get("url") is not None:
        await validate_subscription_url(
            changes["url"], allow_private=settings.allow_private_webhook_targets
        )
        sub.url = changes["url"]
    if changes.get("event_types") is not None:
        sub.event_types = sorted(set(changes["event_types"]))
    if "description" in changes:
        sub.description = changes["description"]
    if changes.get("active") is not None:
        sub.active = changes["active"]
        if sub.active:
            sub.disabled_reason = None
    await session.flush()
    await session.refresh(sub)
    return sub


async def list_subscriptions(
    session: AsyncSession, org_id: uuid.UUID
) -> Sequence[WebhookSubscription]:
    stmt = scoped(WebhookSubscription, org_id).order_by(WebhookSubscription.created_at)
    return (await session.execute(stmt)).scalars().all()


async def list_deliveries(
    session: AsyncSession,
    org_id: uuid.UUID,
    *,
    limit: int,
    cursor: str | None = None,
    status: str | None = None,
    subscription_id: uuid.UUID | None = None,
    event_type: str | None = None,
) -> tuple[list[WebhookDelivery], str | None]:
    stmt = scoped(WebhookDelivery, org_id).order_by(
        WebhookDelivery.created_at.desc(), WebhookDelivery.id.desc()
    )
    if cursor:
        at, key = pagination.decode("webhook-deliveries", cursor, uuid.UUID)
        stmt = stmt.where(pagination.older(WebhookDelivery.created_at, WebhookDelivery.id, at, key))
    if status:
        stmt = stmt.where(WebhookDelivery.status == status)
    if subscription_id:
        stmt = stmt.where(WebhookDelivery.subscription_id == subscription_id)
    if event_type:
        stmt = stmt.where(WebhookDelivery.event_type == event_type)
    rows = list((await session.execute(stmt.limit(limit + 1))).scalars())
    more = len(rows) > limit
    rows = rows[:limit]
    if not more:
        return rows, None
    return rows, pagination.encode("webhook-deliveries", rows[-1].created_at, rows[-1].id)


async def redeliver(
    session: AsyncSession, org_id: uuid.UUID, delivery_id: uuid.UUID
) -> WebhookDelivery:
    """Start the delivery over (same `webhook-id`) with a fresh retry schedule."""
    delivery = await get_owned(session, WebhookDelivery, delivery_id, org_id, for_update=True)
    sub = await get_owned(session, WebhookSubscription, delivery.subscription_id, org_id)
    if not sub.active:
        raise Conflict(
            "The subscription is disabled; re-enable it before redelivering.",
            type="subscription-disabled",
        )
    now = utcnow()
    delivery.redeliveries += 1
    delivery.attempts = 0
    delivery.status = "pending"
    delivery.next_attempt_at = now
    await session.flush()
    await service.schedule(session, delivery, now)
    return delivery


@dataclass(frozen=True, slots=True)
class _Restarted:
    id: uuid.UUID
    organization_id: uuid.UUID
    redeliveries: int
    attempts: int


async def retry_now(session: AsyncSession, org_id: uuid.UUID, sub_id: uuid.UUID) -> int:
    """Start every pending, retrying or dead delivery of the subscription over now (same
    `webhook-id`, fresh retry schedule), for a receiver that is back; how many. A delivery
    a worker is sending at this moment is left to that attempt."""
    sub = await get_owned(session, WebhookSubscription, sub_id, org_id)
    if not sub.active:
        raise Conflict(
            "The subscription is disabled; re-enable it before retrying its deliveries.",
            type="subscription-disabled",
        )
    d = WebhookDelivery
    waiting = (
        select(d.id)
        .where(d.organization_id == org_id, d.subscription_id == sub_id,
               d.status.in_(("pending", "retrying", "dead")))
        .with_for_update(skip_locked=True)
    )  # fmt: skip
    now = utcnow()
    restarted = (
        await session.execute(
            sa_update(d)
            .where(d.id.in_(waiting.scalar_subquery()))
            .values(status="pending", attempts=0, next_attempt_at=now,
                    redeliveries=d.redeliveries + 1)
            .returning(d.id, d.organization_id, d.redeliveries, d.attempts)
            .execution_options(synchronize_session=False)
        )
    ).all()  # fmt: skip
    await service.schedule_many(session, [_Restarted(*row) for row in restarted], now)
    return len(restarted)
