from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from pydantic import BaseModel, Field


class AuditEventOut(BaseModel):
    """One audit row: identifiers and codes only, never personal data."""

    id: int
    at: dt.datetime
    action: str = Field(description="e.g. `lead.read`, `consent.revoke`, `contact_attempt.create`")
    outcome: str = Field(description="`allowed`, `refused`, `not_found` or `error`.")
    status_code: int | None = Field(description="The HTTP status a failed request answered.")
    problem_type: str | None = Field(description="The problem `type` a failed request answered.")
    target_type: str | None
    target_id: str | None
    actor_key_id: uuid.UUID | None = Field(description="The API key; null for system work.")
    actor_key_name: str | None
    actor_key_prefix: str | None
    client_ip: str | None = Field(description="Where the request came from.")
    request_id: str | None = Field(description="`X-Request-ID`: joins the access log.")
    route: str | None = Field(description="The endpoint, e.g. `GET /v1/leads/{lead_id}`.")
    details: dict[str, Any] = Field(
        description="Codes and ids: `ids` lists what a list read returned."
    )


class AuditEventList(BaseModel):
    data: list[AuditEventOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for older events.")
