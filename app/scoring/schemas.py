"""Bodies of the re-scoring endpoint."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from app.leads.canonical import Insurance


class LeadFactsPatch(BaseModel):
    """Facts learned after the lead arrived (a call revealed the real service). Only the
    fields sent change; `null` clears one. An empty body re-scores with the current practice."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    service_code: str | None = Field(
        default=None, max_length=64, description="A service code; wins over the free text."
    )
    service_text: str | None = Field(default=None, max_length=1000)
    reason: str | None = Field(default=None, max_length=5000)
    urgency: Literal["routine", "soon", "urgent"] | None = None
    requested_timeframe: str | None = Field(default=None, max_length=200)
    preferred_location: str | None = Field(
        default=None, max_length=200, description="A location id or name."
    )
    language: (
        Annotated[
            str,
            StringConstraints(max_length=16, pattern=r"^[a-z]{2,3}(-[a-zA-Z0-9]{2,8})*$"),
        ]
        | None
    ) = None
    insurance: Insurance | None = None
    new_patient: bool | None = None
    date_of_birth: dt.date | None = None
    postal_code: str | None = Field(
        default=None, max_length=20, description="Re-derives state, time zone and coordinates."
    )

    @field_validator("date_of_birth")
    @classmethod
    def _past(cls, value: dt.date | None) -> dt.date | None:
        if value is not None and (value.year < 1900 or value > dt.date.today()):
            raise ValueError("must be a past date after 1900")
        return value


class NotQualifiedReasonOut(BaseModel):
    code: str
    message: str


class RescoreOut(BaseModel):
    lead_id: uuid.UUID
    status: str
    changed: list[str] = Field(description="The fields that were sent.")
    service_code: str | None
    location_id: uuid.UUID | None
    urgency: str
    emergency: bool
    safety_instruction: str | None = Field(
        default=None, description="Present for an emergency: what to tell the person (911/988)."
    )
    qualified: bool | None = Field(
        description="`null` while the practice has no services or locations configured."
    )
    not_qualified_reasons: list[NotQualifiedReasonOut]
    score: int
    score_band: str
    scoring_version: str
    flags: list[str] = Field(
        default_factory=list, description="`no_availability`: no free slot within the horizon."
    )
    offered_slots: list[dict[str, Any]] = Field(
        default_factory=list, description="The earliest free slots fitting the lead, read now."
    )
    team_id: uuid.UUID | None = None
    member_id: uuid.UUID | None = None
    rerouted: bool = Field(
        default=False,
        description="Routed again: its service, location or availability moved and nobody "
        "had reached the person yet (the trace keeps the earlier decision under `previous`).",
    )
