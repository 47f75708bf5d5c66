from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.fields import DataList, Instant

ChannelName = Literal["voice", "sms", "email"]
DirectionName = Literal["outbound", "inbound"]
Outcome = Literal[
    "connected",
    "left_voicemail",
    "no_answer",
    "busy",
    "wrong_number",
    "invalid_number",
    "callback_requested",
    "do_not_contact_requested",
    "sms_sent",
    "sms_replied",
    "email_sent",
]


class AttemptIn(BaseModel):
    """One contact attempt as the call-center, texting or email system reports it."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    external_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=255,
        description="The calling system's id for this attempt: retries with the same id and "
        "body get the same answer, nothing is recorded twice. Strongly recommended.",
    )
    channel: ChannelName
    direction: DirectionName = "outbound"
    purpose: Literal["scheduling", "marketing", "opt-out-confirmation", "emergency-callback"] | (
        None
    ) = Field(
        default=None,
        description="Why the person is contacted; it decides which rules bind the contact "
        "(README, contact purposes). Omitted: `emergency-callback` for a lead assessed as an "
        "emergency, else `scheduling`. An emergency callback is not a solicitation: calling "
        "hours and attempt caps do not refuse it, a revocation does; only an emergency lead "
        "can be called back as one. `opt-out-confirmation`: the one text confirming an "
        "opt-out (47 CFR 64.1200(a)(12)), allowed once within 5 minutes of the SMS "
        "revocation, with no marketing in it.",
    )
    member_external_id: str | None = Field(
        default=None, max_length=200, description="The agent's id in the calling system."
    )
    started_at: Instant | None = Field(
        default=None,
        description="When the attempt began (default: now). The contact policy is evaluated "
        "at this time, in the lead's local time.",
    )
    ended_at: Instant | None = None
    outcome: Outcome
    notes: str | None = Field(
        default=None, max_length=4000, description="Stored encrypted; never sent in webhooks."
    )
    override_reason: str | None = Field(
        default=None,
        min_length=3,
        max_length=1000,
        description="With the `admin` scope: record an attempt the contact policy refuses. "
        "Audited; the reason is stored encrypted with the attempt.",
    )

    @model_validator(mode="after")
    def _times(self) -> AttemptIn:
        if self.ended_at and self.started_at and self.ended_at < self.started_at:
            raise ValueError("ended_at is before started_at")
        return self


class AttemptOut(BaseModel):
    id: uuid.UUID
    lead_id: uuid.UUID
    external_id: str | None
    origin: str
    channel: str
    direction: str
    purpose: str
    outcome: str
    member_id: uuid.UUID | None
    member_external_id: str | None
    started_at: dt.datetime
    ended_at: dt.datetime | None
    policy_rule: str | None = Field(
        description="The rule this attempt broke when it was recorded anyway (admin override, "
        "or a call reported by Twilio after it happened); null when the policy allowed it."
    )
    rules_version: str | None = Field(
        description="The version of the contact rules (hours, caps, holidays) that judged it."
    )
    recorded_at: dt.datetime


class AttemptList(DataList[AttemptOut]):
    pass
