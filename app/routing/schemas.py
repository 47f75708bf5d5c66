from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.fields import INT32_MAX, Count32, DataList, Day, Instant, PatchModel, given

SlaMinutes = dict[str, Count32]

StrategyName = Literal["round_robin", "weighted", "least_loaded"]
MemberStatusName = Literal["active", "away", "inactive"]

_HOURS_DOC = (
    'Weekly hours in the team\'s time zone: `{"mon": [["08:00", "17:00"]], ...}`; a missing '
    "weekday is closed, an interval closing before it opens runs overnight. Omit (null) for a "
    "team that is always open."
)
_SLA_DOC = (
    "Minutes of open time to first contact by urgency, e.g. "
    '`{"emergency": 5, "urgent": 15, "soon": 60, "routine": 240}`; `default` applies to '
    "urgencies without an entry."
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TeamFields(_Strict):
    kind: str = Field(
        default="intake",
        max_length=32,
        description="Free label: intake, call_center, coordinator, nurse_line, nurture…",
    )
    services: list[str] = Field(default_factory=list, description="Service codes covered.")
    location_ids: list[str] = Field(default_factory=list, description="Location ids covered.")
    languages: list[str] = Field(
        default_factory=list, description="Languages every member speaks unless they list own."
    )
    hours: dict[str, Any] | None = Field(default=None, description=_HOURS_DOC)
    time_zone: str = Field(default="UTC", max_length=64, description="IANA time zone.")
    holidays: list[Day] = Field(default_factory=list, description="Closed local dates.")
    sla_minutes: SlaMinutes = Field(default_factory=dict, description=_SLA_DOC)
    capacity_per_member: int | None = Field(
        default=None,
        ge=1,
        le=INT32_MAX,
        description="Open leads each member may hold; null is unlimited.",
    )
    strategy: StrategyName = "round_robin"
    overflow_team_id: uuid.UUID | None = Field(
        default=None, description="Where leads go when nobody here can take them, or closed."
    )
    is_urgent_team: bool = Field(
        default=False, description="Receives emergencies ahead of every rule."
    )
    max_escalations: int = Field(
        default=2,
        ge=0,
        le=10,
        description="Times a lead that misses its SLA is moved on (next member, then overflow).",
    )

    @model_validator(mode="after")
    def _sla_non_negative(self) -> TeamFields:
        if any(v < 0 for v in self.sla_minutes.values()):
            raise ValueError("sla_minutes values must be >= 0")
        return self


class TeamCreate(TeamFields):
    name: str = Field(min_length=1, max_length=200)


class TeamPatch(PatchModel):
    """Only the fields sent are changed; `null` resets `hours` (always open),
    `capacity_per_member` (unlimited) and `overflow_team_id` (none)."""

    nullable = frozenset({"hours", "capacity_per_member", "overflow_team_id"})

    name: str | None = Field(default=None, min_length=1, max_length=200)
    kind: str | None = Field(default=None, max_length=32)
    services: list[str] | None = None
    location_ids: list[str] | None = None
    languages: list[str] | None = None
    hours: dict[str, Any] | None = None
    time_zone: str | None = Field(default=None, max_length=64)
    holidays: list[Day] | None = None
    sla_minutes: SlaMinutes | None = None
    capacity_per_member: int | None = Field(default=None, ge=1, le=INT32_MAX)
    strategy: StrategyName | None = None
    overflow_team_id: uuid.UUID | None = None
    is_urgent_team: bool | None = None
    max_escalations: int | None = Field(default=None, ge=0, le=10)


class MemberFields(_Strict):
    external_id: str | None = Field(
        default=None, max_length=200, description="The agent's id in the call-center system."
    )
    languages: list[str] = Field(default_factory=list)
    weight: int = Field(default=1, ge=1, le=1000, description="Share under `weighted`.")
    daily_cap: int | None = Field(
        default=None, ge=0, le=INT32_MAX, description="Leads per local day."
    )
    status: MemberStatusName = "active"
    away_until: Instant | None = Field(
        default=None, description="With status `away`: back automatically at this time."
    )


class MemberCreate(MemberFields):
    display_name: str = Field(min_length=1, max_length=200)


class MemberPatch(PatchModel):
    """Only the fields sent are changed; `null` clears `external_id`, `daily_cap` and
    `away_until`."""

    nullable = frozenset({"external_id", "daily_cap", "away_until"})

    display_name: str | None = Field(default=None, min_length=1, max_length=200)
    external_id: str | None = Field(default=None, max_length=200)
    team_id: uuid.UUID | None = None
    languages: list[str] | None = None
    weight: int | None = Field(default=None, ge=1, le=1000)
    daily_cap: int | None = Field(default=None, ge=0, le=INT32_MAX)
    status: MemberStatusName | None = None
    away_until: Instant | None = None


class MemberOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    team_id: uuid.UUID
    display_name: str
    external_id: str | None
    languages: list[str]
    weight: int
    daily_cap: int | None
    status: str
    away_until: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime


class TeamOut(BaseModel):
    id: uuid.UUID
    name: str
    kind: str
    services: list[str]
    location_ids: list[str]
    languages: list[str]
    hours: dict[str, Any] | None
    time_zone: str
    holidays: list[str]
    sla_minutes: dict[str, int]
    capacity_per_member: int | None
    strategy: str
    overflow_team_id: uuid.UUID | None
    is_urgent_team: bool
    max_escalations: int
    members: list[MemberOut]
    created_at: dt.datetime
    updated_at: dt.datetime


class TeamList(DataList[TeamOut]):
    pass


class MemberList(DataList[MemberOut]):
    pass


_RULES_DOC = (
    'Rules in order, first match wins: `[{"id"?, "name", "conditions": [{"field", "op", '
    '"value"?}], "team_id", "strategy"?}]`; the last rule has no conditions (the default).'
)


class RulesetCreate(_Strict):
    name: str = Field(default="", max_length=200)
    rules: list[Any] = Field(description=_RULES_DOC)


class RulesetPatch(PatchModel):
    name: str | None = Field(default=None, max_length=200)
    rules: list[Any] | None = Field(default=None, description=_RULES_DOC)


class RulesetOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    version: int
    name: str
    status: str
    rules: list[Any]
    published_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime


class RulesetList(DataList[RulesetOut]):
    pass


class SimulateIn(_Strict):
    lead: dict[str, Any] | None = Field(
        default=None, description="A canonical lead, as for `POST /v1/leads`."
    )
    ruleset_id: uuid.UUID | None = Field(
        default=None, description="Route with this rule set (e.g. a draft) instead of the live one."
    )
    from_: Instant | None = Field(default=None, alias="from")
    to: Instant | None = None

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class ReassignIn(_Strict):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra=given("team_id", "member_id", exactly=True)
    )

    team_id: uuid.UUID | None = Field(
        default=None, description="Let this team's strategy pick a member (or queue the lead)."
    )
    member_id: uuid.UUID | None = Field(default=None, description="Give the lead to this member.")
    reason: str = Field(
        min_length=1,
        max_length=500,
        description="Kept in the lead's trace; not in the audit log, as it may name the patient.",
    )

    @model_validator(mode="after")
    def _one_target(self) -> ReassignIn:
        if (self.team_id is None) == (self.member_id is None):
            raise ValueError("send exactly one of team_id or member_id")
        return self
