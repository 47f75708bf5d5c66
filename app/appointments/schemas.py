from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.appointments.core import AppointmentData
from app.appointments.transitions import FhirStatus
from app.fields import DataList, Instant, PatchModel

Outcome = Literal["created", "updated", "unchanged", "ignored_older"]


class _Fields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    external_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="The scheduling system's appointment id; unique in the organisation. "
        "Sending it again updates that appointment (replays are idempotent).",
    )
    cancellation_reason: str | None = Field(
        default=None,
        max_length=64,
        description="A code (e.g. FHIR `pat`, `prov`); only with `cancelled` or `noshow`.",
    )
    location: str | None = Field(default=None, max_length=200, description="Location id.")
    provider: str | None = Field(default=None, max_length=200, description="Provider id.")
    service: str | None = Field(default=None, max_length=200, description="Service code.")
    start: Instant | None = None
    end: Instant | None = None
    version: str | int | None = Field(
        default=None,
        description="The sender's version of this appointment; an older one changes nothing.",
    )
    updated_at: Instant | None = Field(
        default=None,
        description="When the change happened at the sender; used to order changes when no "
        "`version` is sent.",
    )


class AppointmentIn(_Fields):
    # FHIR app-2: start and end together (the other invariants are the API's checks alone).
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"dependentRequired": {"start": ["end"], "end": ["start"]}},
    )

    status: FhirStatus = Field(description="FHIR R4 AppointmentStatus.")

    def to_data(self) -> AppointmentData:
        return AppointmentData(
            status=self.status,
            external_id=self.external_id,
            cancellation_reason=self.cancellation_reason,
            location=self.location,
            provider=self.provider,
            service=self.service,
            start=self.start,
            end=self.end,
            source_version=str(self.version)[:64] if self.version is not None else None,
            source_updated_at=self.updated_at,
        )


class AppointmentPatch(PatchModel, _Fields):
    """Only the fields sent change; `null` clears any field but `status`."""

    nullable = frozenset(set(_Fields.model_fields) - {"status"})

    status: FhirStatus | None = None


class AppointmentOut(BaseModel):
    id: uuid.UUID
    lead_id: uuid.UUID
    external_id: str | None
    status: str
    cancellation_reason: str | None
    location: str | None
    provider: str | None
    service: str | None
    start: dt.datetime | None
    end: dt.datetime | None
    version: int = Field(description="Bumped on every applied change.")
    source_version: str | None
    source_updated_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime
    lead_status: str = Field(description="The lead's status after this request.")
    outcome: Outcome | None = Field(
        default=None,
        description="What this request did: created, updated, unchanged (a replay) or "
        "ignored_older (an older version arrived after a newer one).",
    )


class AppointmentList(DataList[AppointmentOut]):
    pass
