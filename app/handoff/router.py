from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from app import resources
from app.audit import service as audit
from app.db import SessionDep
from app.deps import AdminCaller
from app.handoff import subscriptions
from app.handoff.schemas import (
    DeliveryList,
    DeliveryOut,
    RetryNowOut,
    SubscriptionCreate,
    SubscriptionCreated,
    SubscriptionList,
    SubscriptionOut,
    SubscriptionPatch,
)
from app.idempotency import idempotent
from app.outbox.models import WebhookSubscription
from app.outbox.service import EventType
from app.tenancy import get_owned

router = APIRouter(tags=["webhooks (outbound)"])


@router.post(
    "/v1/webhook-subscriptions",
    status_code=status.HTTP_201_CREATED,
    response_model=SubscriptionCreated,
)
@idempotent
async def create_subscription(
    body: SubscriptionCreate, caller: AdminCaller, session: SessionDep, request: Request
) -> SubscriptionCreated:
    """Subscribe a URL to events. Deliveries follow Standard Webhooks: verify
    `webhook-signature` with the `secret` (shown once), deduplicate on `webhook-id`.
    Payloads are thin (`{"type", "timestamp", "data"}` with ids and codes): fetch the lead
    with `GET /v1/leads/{id}`. URLs must be https:// and resolve to public addresses."""
    sub, secret = await subscriptions.create(
        session, caller.org_id, body, request.app.state.settings
    )
    await audit.record(
        session, caller, "webhook_subscription.create", "webhook_subscription", sub.id,
        {"event_types": sub.event_types},
    )  # fmt: skip
    return SubscriptionCreated(**SubscriptionOut.model_validate(sub).model_dump(), secret=secret)


@router.get("/v1/webhook-subscriptions", response_model=SubscriptionList)
async def list_subscriptions(caller: AdminCaller, session: SessionDep) -> SubscriptionList:
    """Every subscription of this organisation. Secrets are never shown again."""
    return SubscriptionList.of(await subscriptions.list_subscriptions(session, caller.org_id))


@router.get("/v1/webhook-subscriptions/{subscription_id}", response_model=SubscriptionOut)
async def get_subscription(
    subscription_id: uuid.UUID, caller: AdminCaller, session: SessionDep
) -> SubscriptionOut:
    """One subscription; `disabled_reason` says why it stopped (e.g. the endpoint answered 410)."""
    sub = await get_owned(session, WebhookSubscription, subscription_id, caller.org_id)
    return SubscriptionOut.model_validate(sub)


@router.patch("/v1/webhook-subscriptions/{subscription_id}", response_model=SubscriptionOut)
async def update_subscription(
    subscription_id: uuid.UUID,
    body: SubscriptionPatch,
    caller: AdminCaller,
    session: SessionDep,
    request: Request,
) -> SubscriptionOut:
    """Change the URL, events or description, or (re-)enable or disable the subscription."""
    sub = await subscriptions.update(
        session, caller.org_id, subscription_id, body, request.app.state.settings
    )
    await resources.record_change(
        session, caller, "webhook_subscription.update", "webhook_subscription", sub.id,
        resources.changed(body),
    )  # fmt: skip
    return SubscriptionOut.model_validate(sub)


@router.delete(
    "/v1/webhook-subscriptions/{subscription_id}", status_code=status.HTTP_204_NO_CONTENT
)
async def delete_subscription(
    subscription_id: uuid.UUID, caller: AdminCaller, session: SessionDep
) -> Response:
    """Delete the subscription and its delivery history; nothing more is sent to it."""
    sub = await get_owned(session, WebhookSubscription, subscription_id, caller.org_id)
    await session.delete(sub)
    return await resources.deleted(
        session, caller, "webhook_subscription.delete", "webhook_subscription", subscription_id
    )


@router.get("/v1/webhook-deliveries", response_model=DeliveryList)
async def list_deliveries(
    caller: AdminCaller,
    session: SessionDep,
    status_: Annotated[str | None, Query(alias="status")] = None,
    subscription_id: uuid.UUID | None = None,
    event_type: EventType | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> DeliveryList:
    """Deliveries, newest first: status (pending, retrying, succeeded, dead), attempts and
    the last error. `?status=dead` lists what gave up after about three days of retries."""
    rows, next_cursor = await subscriptions.list_deliveries(
        session,
        caller.org_id,
        limit=limit,
        cursor=cursor,
        status=status_,
        subscription_id=subscription_id,
        event_type=event_type,
    )
    return DeliveryList(data=[DeliveryOut.model_validate(d) for d in rows], next_cursor=next_cursor)


@router.post(
    "/v1/webhook-deliveries/{delivery_id}/redeliver",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=DeliveryOut,
)
@idempotent
async def redeliver(
    delivery_id: uuid.UUID, caller: AdminCaller, session: SessionDep
) -> DeliveryOut:
    """Send the message again now, with the same `webhook-id` and a fresh retry schedule."""
    delivery = await subscriptions.redeliver(session, caller.org_id, delivery_id)
    await audit.record(
        session, caller, "webhook_delivery.redeliver", "webhook_delivery", delivery.id
    )
    return DeliveryOut.model_validate(delivery)


@router.post(
    "/v1/webhook-subscriptions/{subscription_id}/retry-now",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=RetryNowOut,
)
@idempotent
async def retry_now(
    subscription_id: uuid.UUID, caller: AdminCaller, session: SessionDep
) -> RetryNowOut:
    """Send every delivery of this subscription that is still pending, waiting for a retry
    or dead, now: for a receiver that is back after an outage, rather than waiting for the
    retry schedule. Each keeps its `webhook-id` and gets a fresh schedule; a disabled
    subscription is 409 (re-enable it first)."""
    scheduled = await subscriptions.retry_now(session, caller.org_id, subscription_id)
    await audit.record(
        session, caller, "webhook_subscription.retry_now", "webhook_subscription",
        subscription_id, {"scheduled": scheduled},
    )  # fmt: skip
    return RetryNowOut(subscription_id=subscription_id, scheduled=scheduled)
