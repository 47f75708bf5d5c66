from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from app.fields import DataList, PatchModel
from app.intake.source_settings import Kind


class SourceCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Kind
    name: str = Field(min_length=1, max_length=200)
    settings: dict[str, Any] = Field(
        default_factory=dict,
        description="Kind-specific; secrets are write-only and never returned.",
    )
    mapping: dict[str, str] | None = Field(
        default=None,
        description="Sender field → canonical path (e.g. `phone`, `service.text`, "
        "`attribution.utm_source`). Without one, canonical field names are expected; with "
        "one, they are still read (web forms, partners, the JSON API), the mapped field "
        "winning where both are sent, and other fields go to `custom`.",
    )
    default_service: str | None = Field(default=None, max_length=64)
    default_location_id: uuid.UUID | None = None
    active: bool = True


class SourcePatch(PatchModel):
    """Only the fields sent change; `null` clears `mapping`, `default_service` and
    `default_location_id`."""

    nullable = frozenset({"mapping", "default_service", "default_location_id"})

    name: str | None = Field(default=None, min_length=1, max_length=200)
    settings: dict[str, Any] | None = Field(
        default=None, description="Merged into the current settings; omit secrets to keep them."
    )
    mapping: dict[str, str] | None = None
    default_service: str | None = Field(default=None, max_length=64)
    default_location_id: uuid.UUID | None = None
    active: bool | None = None


class SourceOut(BaseModel):
    id: uuid.UUID
    kind: str
    name: str
    settings: dict[str, Any]
    mapping: dict[str, str] | None
    default_service: str | None
    default_location_id: uuid.UUID | None
    active: bool
    webhook_url: str = Field(description="Give this URL to the sender.")
    created_at: dt.datetime
    updated_at: dt.datetime


class SourceList(DataList[SourceOut]):
    pass


class InboxOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    source_id: uuid.UUID
    event_id: str
    status: str = Field(
        description="`processed`, `ignored`, `quarantined`, `unmatched` (a call status "
        "callback for no known lead) or `pending_retrieval`. Quarantined and unmatched "
        "deliveries can be replayed."
    )
    reason: str | None
    content_type: str | None
    received_at: dt.datetime
    processed_at: dt.datetime | None
    replay_count: int
    body_dropped_at: dt.datetime | None = Field(
        default=None,
        description="When the raw body was dropped (erasure, or retention): such a delivery "
        "can no longer be replayed.",
    )


class InboxList(DataList[InboxOut]):
    next_cursor: str | None = Field(
        default=None,
        description="Pass as `cursor` for older deliveries; null on the last page.",
    )
