from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from app.fields import Instant, IpAddress, given

ChannelName = Literal["voice", "sms", "email"]
PurposeName = Literal["scheduling", "marketing"]
Via = Literal["sms_reply", "call", "email", "form", "agent", "api"]


class RevocationIn(BaseModel):
    """Who revoked (one or more of lead id, phone, email), on which channels, and how."""

    model_config = ConfigDict(
        extra="forbid",
        hide_input_in_errors=True,
        json_schema_extra=given("lead_id", "phone", "email"),
    )

    lead_id: uuid.UUID | None = None
    phone: Annotated[str, StringConstraints(max_length=50)] | None = None
    email: Annotated[str, StringConstraints(max_length=320)] | None = None
    channel: ChannelName | Literal["all"] | None = None
    purpose: PurposeName | Literal["all"] = "all"
    words: Annotated[str, StringConstraints(max_length=1000)] | None = None
    via: Via

    @model_validator(mode="after")
    def _someone(self) -> RevocationIn:
        if self.lead_id is None and not self.phone and not self.email:
            raise ValueError("give `lead_id`, `phone` or `email`")
        return self


class RevocationOut(BaseModel):
    channels: list[ChannelName]
    purposes: list[PurposeName]
    keyword: str | None
    via: Via
    lead_ids: list[uuid.UUID]
    suppressed: list[Literal["phone", "email"]]
    recorded_at: dt.datetime


class EligibilityReasonOut(BaseModel):
    rule: str
    jurisdiction: str
    message: str
    source: str


class EligibilityOut(BaseModel):
    lead_id: uuid.UUID
    allowed: bool
    channel: ChannelName
    purpose: str
    direction: str
    at: dt.datetime
    reasons: list[EligibilityReasonOut]
    next_allowed_at: dt.datetime | None
    applied: list[str]
    located_in: list[str]
    time_zones: list[str]
    rules_version: str
    consent_unverified: bool = Field(
        default=False, description="The lead's consent certificate or token did not verify."
    )
    missing_evidence: list[str] = Field(
        default_factory=list,
        description="When refused for want of written consent: what its evidence lacks.",
    )
    basis: str | None = Field(
        default=None,
        description="What an allowed contact rests on: `written_consent`, "
        "`healthcare_exemption` (a scheduling call or text within the exemption's limits), "
        "`inbound` or `opt_out_confirmation`.",
    )


class CurrentConsent(BaseModel):
    status: Literal["granted", "denied", "revoked", "incomplete"]
    since: dt.datetime
    evidence_id: uuid.UUID
    missing: list[str] = Field(
        default_factory=list,
        description="When `incomplete`: the evidence written consent needs and this lacks "
        "(`disclosure`, `seller`, `captured_at`, `capture_context`).",
    )


class EventOut(BaseModel):
    id: uuid.UUID
    lead_id: uuid.UUID | None
    channel: ChannelName
    purpose: PurposeName
    decision: str
    captured_at: dt.datetime
    recorded_at: dt.datetime
    retain_until: dt.datetime
    origin: str
    method: str | None
    via: str | None
    keyword: str | None
    seller: str | None
    form_id: str | None
    source_id: uuid.UUID | None
    disclosure_id: uuid.UUID | None
    missing: list[str] | None = Field(
        description="For a grant's evidence, the pieces written consent needs that it lacks "
        "(empty: complete); null for revocations and refusals."
    )
    evidence: dict[str, Any]


class DisclosureOut(BaseModel):
    id: uuid.UUID
    sha256: str
    text: str
    source_id: uuid.UUID | None
    form_id: str | None
    version: str
    first_seen_at: dt.datetime


class VerificationOut(BaseModel):
    """A TrustedForm certificate or Jornaya LeadiD token checked with its provider."""

    id: uuid.UUID
    provider: Literal["trustedform", "jornaya"]
    reference: str = Field(description="The certificate URL or token, as received.")
    status: Literal["pending", "verified", "no_match", "expired", "error", "refused"] = Field(
        description="`refused`: not the provider's URL or token form, so never sent."
    )
    reason: str | None
    facts: dict[str, Any] = Field(
        description="The provider's facts: page_url, created_at, expires_at, email_match, "
        "phone_match (TrustedForm); authentic (Jornaya)."
    )
    requested_at: dt.datetime
    checked_at: dt.datetime | None
    retain_until: dt.datetime


class LiftedOut(BaseModel):
    channel: ChannelName
    purpose: PurposeName


class ConsentView(BaseModel):
    lead_id: uuid.UUID
    current: dict[str, dict[str, CurrentConsent]]
    do_not_contact: list[str]
    events: list[EventOut]
    disclosures: list[DisclosureOut]
    consent_unverified: bool = Field(
        default=False,
        description="A certificate or token did not verify (no match, expired, refused): "
        "the contact policy treats the lead as without written consent for marketing.",
    )
    verifications: list[VerificationOut] = Field(default_factory=list)
    lifted: list[LiftedOut] = Field(
        default_factory=list,
        description="Channels and purposes whose revocation or suppression an explicit grant "
        "(`POST /v1/consent/grants`) has lifted.",
    )
    contact_channels: list[ChannelName] = Field(
        default_factory=list,
        description="The channels the consent on record allows now, for some purpose.",
    )


class GrantIn(BaseModel):
    """A new, explicit consent the person gave after a revocation, with its evidence."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    lead_id: uuid.UUID
    channel: ChannelName
    purpose: PurposeName
    disclosure_text: Annotated[str, StringConstraints(min_length=1, max_length=10000)] = Field(
        description="The wording the person agreed to, exactly as shown or read (kept "
        "byte-exact, like every disclosure)."
    )
    method: Literal["web_form", "verbal_recorded", "written"]
    captured_at: Instant = Field(description="When the person agreed; after the revocation.")
    captured_by: Annotated[str, StringConstraints(min_length=1, max_length=200)] = Field(
        description="Who or what took it: an agent's id, a form's name. No personal data."
    )
    seller: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = Field(
        default=None, description="The practice the wording names (default: the organisation)."
    )
    ip: IpAddress | None = None
    user_agent: Annotated[str, StringConstraints(max_length=1000)] | None = None
    page_url: Annotated[str, StringConstraints(max_length=2048)] | None = None
    certificate_url: Annotated[str, StringConstraints(max_length=2048)] | None = None
    leadid_token: Annotated[str, StringConstraints(max_length=100)] | None = None
    evidence_ref: Annotated[str, StringConstraints(min_length=1, max_length=500)] | None = Field(
        default=None,
        description="Where the signed form or the call recording is kept (its id or URL): "
        "the capture context of a written or recorded consent.",
    )


class GrantOut(BaseModel):
    event_id: uuid.UUID
    lead_id: uuid.UUID
    channel: ChannelName
    purpose: PurposeName
    decision: Literal["granted"]
    captured_at: dt.datetime
    recorded_at: dt.datetime
    lifted: bool = Field(
        description="A revocation or suppression blocked this channel and purpose, and this "
        "grant lifts it."
    )
    contact_channels: list[ChannelName] = Field(
        description="The channels the lead's consent now allows (it is back in the queue if any)."
    )


class FormConsent(BaseModel):
    """Consent wording as the form shows it, when the delivery does not carry it."""

    model_config = ConfigDict(extra="forbid")

    disclosure_text: str = Field(max_length=10000)
    seller: str | None = Field(default=None, max_length=200)
    channels: list[Literal["voice", "sms", "email"]] = ["voice", "sms", "email"]
    purposes: list[Literal["scheduling", "marketing"]] = ["scheduling"]
    form_id: str | None = Field(default=None, max_length=200)
    version: str | None = Field(default=None, max_length=64)
