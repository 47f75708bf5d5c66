from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from app.fields import DataList, PatchModel
from app.outbox.service import EventType


class SubscriptionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(
        min_length=8,
        max_length=2000,
        description="An https:// URL that resolves to a public address.",
    )
    event_types: list[EventType] = Field(min_length=1, description="Events to receive.")
    description: str | None = Field(default=None, max_length=200)
    active: bool = True


class SubscriptionPatch(PatchModel):
    """Only the fields sent change; `null` clears `description`."""

    nullable = frozenset({"description"})

    url: str | None = Field(default=None, min_length=8, max_length=2000)
    event_types: list[EventType] | None = Field(default=None, min_length=1)
    description: str | None = Field(default=None, max_length=200)
    active: bool | None = Field(
        default=None, description="Set true to re-enable a subscription disabled by a 410."
    )


class SubscriptionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    url: str
    description: str | None
    event_types: list[str]
    active: bool
    disabled_reason: str | None = Field(description="Why the subscription was disabled.")
    created_at: dt.datetime
    updated_at: dt.datetime


class SubscriptionCreated(SubscriptionOut):
    secret: str = Field(
        description="`whsec_…` key for verifying `webhook-signature` (Standard Webhooks). "
        "Shown once: store it now."
    )


class SubscriptionList(DataList[SubscriptionOut]):
    pass


class DeliveryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    webhook_id: str = Field(description="The `webhook-id` header: the same on every retry.")
    subscription_id: uuid.UUID
    event_type: str
    status: str = Field(description="pending, retrying, succeeded or dead.")
    attempts: int = Field(description="Attempts since the last (re)delivery began.")
    redeliveries: int
    last_status_code: int | None
    last_error: str | None
    last_attempt_at: dt.datetime | None
    next_attempt_at: dt.datetime | None
    delivered_at: dt.datetime | None
    created_at: dt.datetime


class RetryNowOut(BaseModel):
    subscription_id: uuid.UUID
    scheduled: int = Field(
        description="Deliveries started over now (pending, retrying or dead before)."
    )


class DeliveryList(BaseModel):
    data: list[DeliveryOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for older deliveries.")


class TimelineEntry(BaseModel):
    at: dt.datetime
    type: str
    data: dict[str, Any]


class Timeline(BaseModel):
    lead_id: uuid.UUID
    status: str
    events: list[TimelineEntry]
