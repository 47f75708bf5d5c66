from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from pydantic import BaseModel, Field


class Submission(BaseModel):
    id: uuid.UUID
    source_id: uuid.UUID | None
    received_at: dt.datetime
    is_resubmission: bool
    channel: str
    external_id: str | None
    attribution: dict[str, Any]
    normalization_flags: list[str]


class LeadOut(BaseModel):
    """A lead as an intake person or an integrator sees it. Contains personal data."""

    id: uuid.UUID
    status: str = Field(description="Derived from the lead's history (see the timeline).")
    received_at: dt.datetime
    last_submitted_at: dt.datetime
    source_id: uuid.UUID | None
    channel: str
    external_id: str | None
    is_test: bool = Field(description="Test leads are stored but excluded from reports.")
    erased_at: dt.datetime | None = Field(
        default=None,
        description="Set when the lead was erased: its personal data and free text are gone, "
        "its decisions and non-identifying metrics remain.",
    )
    contact: dict[str, Any] = Field(description="Name, phone (E.164), email, address, DOB.")
    request: dict[str, Any] = Field(
        description="What the person asked for: service, reason, urgency, timeframe, "
        "preferred contact method, time and location, language, insurance, new patient."
    )
    location_facts: dict[str, Any] = Field(
        description="ZIP (kept encrypted; none once erased), its Safe Harbor ZIP3 (`000` for "
        "areas of 20,000 people or fewer), state and time zone from the ZIP, state from the "
        "phone's area code."
    )
    attribution: dict[str, Any]
    normalization_flags: list[str]
    resubmission_count: int = Field(
        description="Later submissions inside the duplicate window, linked to this lead."
    )
    submissions: list[Submission]
    assessment: dict[str, Any] = Field(
        description="Service match, location and distance, urgency and emergency, "
        "qualification with reasons, score with its breakdown."
    )
    routing: dict[str, Any] = Field(
        description="Team, member, rule set version and rule, callback and SLA times, "
        "and `trace`: the decision and what it tried, on one level (`status`, `strategy`, "
        "`rules`, `teams`, `overflow`, `choice`, `notes`; `previous` decisions and "
        "reassignment `events` alike)."
    )
    contact_summary: dict[str, Any]


class LeadListItem(BaseModel):
    """A lead in a list: ids and decisions, no contact details."""

    id: uuid.UUID
    status: str
    received_at: dt.datetime
    source_id: uuid.UUID | None
    channel: str
    is_test: bool
    service_code: str | None
    location_id: uuid.UUID | None
    urgency: str | None
    emergency: bool
    qualified: bool | None
    score: int | None
    score_band: str | None
    team_id: uuid.UUID | None
    member_id: uuid.UUID | None
    resubmission_count: int


class LeadList(BaseModel):
    data: list[LeadListItem]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page.")
