from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from app.fields import DataList, Instant, given


class ErasureRequestIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra=given("phone", "email"))

    phone: Annotated[str, StringConstraints(max_length=64)] | None = Field(
        default=None, description="The person's phone number, any common format."
    )
    email: Annotated[str, StringConstraints(max_length=320)] | None = None
    received_at: Instant = Field(
        description="When the person's request reached the practice (the 45 days run from here)."
    )
    verified_by: Annotated[str, StringConstraints(min_length=1, max_length=200)] = Field(
        description="Who verified the person's identity (a staff member or team)."
    )
    verification_note: Annotated[str, StringConstraints(max_length=2000)] | None = Field(
        default=None,
        description="How the identity was verified. Stored encrypted; do not quote the "
        "person's data here.",
    )

    @model_validator(mode="after")
    def _one_identifier(self) -> ErasureRequestIn:
        if not (self.phone or self.email):
            raise ValueError("give `phone` and/or `email`")
        return self


class ErasureRequestOut(BaseModel):
    id: uuid.UUID
    status: Literal["queued", "completed"]
    by_phone: bool = Field(description="The request named a phone number.")
    by_email: bool = Field(description="The request named an email address.")
    received_at: dt.datetime
    verified_at: dt.datetime
    verified_by: str
    verification_note: str | None
    completed_at: dt.datetime | None
    leads_erased: int
    due_by: dt.datetime = Field(description="45 days after `received_at`.")
    overdue: bool = Field(description="Not completed by `due_by`.")
    retain_until: dt.datetime = Field(description="The record is kept 24 months.")


class ErasureRequestList(DataList[ErasureRequestOut]):
    next_cursor: str | None = Field(default=None, description="Pass as `cursor` for the next page.")


class PurgeCounts(BaseModel):
    """What the daily purge did (or, with --dry-run, would do)."""

    dry_run: bool
    lead_cutoff: dt.datetime
    leads_erased: int
    inbox_bodies_dropped: int
    quarantined_bodies_dropped: int
    consent_events_deleted: int
    consent_verifications_deleted: int = 0
    erasure_requests_deleted: int
    idempotency_keys_deleted: int = 0
    jobs_deleted: int = 0
    erasure_requests_overdue: int
    more_leads_due: bool = False
    lead_ids: list[uuid.UUID] = Field(default_factory=list)
