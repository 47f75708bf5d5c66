"""Canonical availability (for schedulers without FHIR), holds and the polled FHIR feed."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, StringConstraints, model_validator

_FORBID = ConfigDict(extra="forbid", hide_input_in_errors=True)
SlotId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9\-.]{1,64}$")]


class SlotIn(BaseModel):
    model_config = _FORBID

    id: SlotId = Field(description="The scheduler's slot id; sending it again updates the slot.")
    location_id: uuid.UUID
    service: str = Field(
        min_length=1, max_length=64, description="A service code (or a scheduler code of one)."
    )
    start: dt.datetime
    end: dt.datetime
    status: Literal["free", "busy", "busy-unavailable", "busy-tentative", "entered-in-error"] = (
        "free"
    )
    practitioner: str | None = Field(
        default=None, max_length=200, description="e.g. `Practitioner/dr-7`."
    )
    appointment_type: str | None = Field(
        default=None, max_length=64, description="e.g. the practice's new-patient visit type."
    )
    version: str | None = Field(
        default=None, max_length=64, description="Orders changes like FHIR meta.versionId."
    )
    updated_at: dt.datetime | None = Field(
        default=None, description="Orders changes like FHIR meta.lastUpdated."
    )

    @model_validator(mode="after")
    def _times(self) -> SlotIn:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("start and end need a time zone offset")
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class AvailabilityIn(BaseModel):
    model_config = _FORBID

    slots: list[SlotIn] = Field(max_length=20000)


class SlotResult(BaseModel):
    id: str
    outcome: Literal["created", "updated", "unchanged", "ignored_older"]
    version: int


class AvailabilityOut(BaseModel):
    counts: dict[str, int] = Field(description="Slots per outcome.")
    slots: list[SlotResult]


class HoldIn(BaseModel):
    model_config = _FORBID

    slot_id: str = Field(min_length=1, max_length=200, description="The scheduler's slot id.")
    minutes: int = Field(default=10, ge=1, le=120)


class HoldOut(BaseModel):
    lead_id: uuid.UUID
    slot_id: str
    start: dt.datetime
    end: dt.datetime
    location_id: uuid.UUID
    held_until: dt.datetime
    status: str = Field(description="`busy-tentative` to everyone else until `held_until`.")


class FeedIn(BaseModel):
    model_config = _FORBID

    base_url: AnyHttpUrl = Field(description="The FHIR R4 server's base URL.")
    poll_minutes: float = Field(default=15.0, ge=1, le=1440)
    days_ahead: int = Field(default=60, ge=1, le=365, description="How far ahead to read slots.")


class FeedOut(BaseModel):
    base_url: str
    poll_minutes: float
    days_ahead: int
    next_poll_at: dt.datetime
    last_polled_at: dt.datetime | None
    last_error: str | None
    last_slot_count: int | None
