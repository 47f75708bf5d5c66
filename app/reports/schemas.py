"""Report shapes. Each field's description states its definition (docs/definitions.md).

Every count is of leads received in the period (local days in the organisation's time zone),
test leads excluded, emergencies included; later events of those leads count whenever they
happened (a cohort view). Rates are fractions rounded to 4 decimals, null when the
denominator is 0. Durations are seconds.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.reports.period import Dimension


class PeriodOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_: dt.date = Field(alias="from", description="First local day, inclusive.")
    to: dt.date = Field(description="Last local day, inclusive.")
    time_zone: str = Field(description="The organisation's IANA time zone used for days.")
    as_of: dt.datetime = Field(
        description="The instant against which 'has the visit time passed', SLA outcomes and "
        "ages are judged (default: now)."
    )


class Delay(BaseModel):
    median_seconds: float | None = Field(
        description="Median (percentile_cont 0.5) of seconds from `received_at` to the step, "
        "over leads that reached it."
    )
    p90_seconds: float | None = Field(
        description="90th percentile (percentile_cont 0.9, interpolated), same population."
    )
    within_5_minutes: int = Field(description="Leads that reached the step within 300 s.")
    share_within_5_minutes: float | None = Field(
        description="within_5_minutes / leads that reached the step (attempted leads for the "
        "first attempt, contacted leads for the first connection)."
    )
    sla_measured: int = Field(
        description="Leads with an SLA due time whose outcome is known: the step happened, or "
        "the due time is before `as_of`."
    )
    within_sla: int = Field(description="Leads whose step happened at or before `sla_due_at`.")
    share_within_sla: float | None = Field(description="within_sla / sla_measured.")


class FunnelMetrics(BaseModel):
    leads: int = Field(description="Leads (after de-duplication) received in the period.")
    resubmissions: int = Field(
        description="Repeat submissions linked to these leads (not counted as leads)."
    )
    qualified: int = Field(
        description="Leads matching an offered service, a serving location and eligibility."
    )
    emergencies: int = Field(description="Leads flagged emergency (counted in `leads` too).")
    attempted: int = Field(description="Leads with at least one contact attempt (any outcome).")
    contacted: int = Field(description="Leads with at least one attempt outcome `connected`.")
    booked: int = Field(
        description="Leads with an appointment in any status but `entered-in-error`."
    )
    completed: int = Field(
        description="Leads whose first visit happened (an appointment `fulfilled`)."
    )
    no_shows: int = Field(description="Leads with at least one appointment `noshow`.")
    cancellations: int = Field(description="Leads with at least one appointment `cancelled`.")
    visits_due: int = Field(
        description="Booked leads whose first appointment not cancelled or entered in error "
        "starts before `as_of` (the show-rate denominator)."
    )
    qualified_rate: float | None = Field(description="qualified / leads.")
    contact_rate: float | None = Field(description="contacted / leads.")
    lead_to_appointment_rate: float | None = Field(description="booked / leads.")
    show_rate: float | None = Field(
        description="Completed first visits / booked leads whose visit time has passed: "
        "(completed among visits_due) / visits_due. Cancellations are not in the denominator."
    )
    completion_rate: float | None = Field(description="completed / booked.")
    first_attempt: Delay = Field(description="Speed to lead: first contact attempt, any outcome.")
    first_connection: Delay = Field(description="Time to the first `connected` attempt.")


NAME_DOC = (
    "The group as people read it: the source, location, team or member's current name, the "
    "service's name, the label (a campaign, a JSON API lead's source label, `Urgent`, `Hot`), "
    "or the day (`Mon Jan 5, 2026`), week (`Week of Jan 5, 2026`) or month (`January 2026`); "
    "a group without a value is named for what is missing (`Not routed`)."
)


class FunnelRow(FunnelMetrics):
    name: str = Field(description=NAME_DOC)
    key: str | None = Field(
        description="The group: a source (source id, or the lowercase `attribution.source`/"
        "`utm_source` label of a JSON API lead), campaign (`attribution.campaign`, else "
        "`utm_campaign`), service code, location/team/member id, urgency, score band, or the "
        "first local day of the day/week (Monday)/month. Null: the lead has no value."
    )


class FunnelReport(BaseModel):
    period: PeriodOut
    group_by: Dimension | None
    rows: list[FunnelRow] = Field(
        description="One row per group with leads; time buckets in order, others by leads."
    )
    total: FunnelMetrics


class CostRow(BaseModel):
    name: str = Field(
        description="The row as people read it: `Source name · campaign` (`No campaign` when "
        "the leads carry none), the source's name on a subtotal, `Total`."
    )
    level: Literal["campaign", "source", "total"] = Field(
        description="`campaign`: one source and campaign; `source`: all of a source; `total`."
    )
    source: str | None = Field(description="Source id or label (null on the total row).")
    source_name: str | None = Field(
        description="The source's current name, or the label itself (null on the total row)."
    )
    campaign: str | None = Field(description="Campaign; null: no campaign, or a subtotal row.")
    spend: Decimal = Field(
        description="Sum of imported spend for the source/campaign on days in the period "
        "(decimal string). Spend without a campaign meets leads without one."
    )
    leads: int = Field(description="Leads of this source/campaign received in the period.")
    qualified: int = Field(description="Of those, qualified.")
    booked: int = Field(description="Of those, booked (any status but entered-in-error).")
    completed: int = Field(description="Of those, with a completed first visit.")
    cost_per_lead: Decimal | None = Field(
        description="spend / leads, to the cent (half up); every cost_per_* is null when the "
        "count is 0 or no spend was imported for the row."
    )
    cost_per_qualified_lead: Decimal | None = Field(description="spend / qualified.")
    cost_per_booked_appointment: Decimal | None = Field(description="spend / booked.")
    cost_per_completed_visit: Decimal | None = Field(description="spend / completed.")


class UnmatchedSpend(BaseModel):
    source: str = Field(description="The spend's source, as imported.")
    campaign: str | None = Field(description="The spend's campaign (null: none).")
    spend: Decimal = Field(description="Its spend on days in the period.")
    reason: Literal["unknown_source", "no_matching_leads"] = Field(
        description="`unknown_source`: neither a source id of the organisation nor the label "
        "of any of its leads (spend imported as `google` where the leads carry a source id); "
        "`no_matching_leads`: a known source, but no lead of the period carries this source "
        "and campaign."
    )
    suggestion: str | None = Field(
        description="Sources of the organisation this spend may have meant, by kind, as "
        "`name (id)`: import the spend under that id."
    )


class CostReport(BaseModel):
    period: PeriodOut
    currency: str | None = Field(description="The organisation's spend currency (ISO 4217).")
    rows: list[CostRow] = Field(description="Campaign rows, then source subtotals, then total.")
    unmatched_spend: list[UnmatchedSpend] = Field(
        description="Spend of the period that meets no lead of the period (it costs no lead, "
        "booking or visit anything): fix its source or campaign and import it again."
    )
    unmatched_total: Decimal = Field(description="Sum of `unmatched_spend`.")


class SpeedRow(BaseModel):
    name: str = Field(
        description="The group as people read it: the hour of receipt (`07:00–08:00`), the "  # noqa: RUF001
        "weekday (`Friday`), the team or member's name (`Not routed`, `No member assigned` "
        "when none), `Total`."
    )
    dimension: Literal["hour", "weekday", "team", "member", "total"]
    key: str | None = Field(
        description="Local hour of receipt 0-23, ISO weekday 1 (Mon)-7, team or member id."
    )
    leads: int
    attempted: int = Field(description="Leads with a first attempt.")
    never_attempted: int = Field(description="leads - attempted.")
    median_seconds: float | None = Field(description="Median first-attempt delay (attempted).")
    p90_seconds: float | None = Field(description="90th percentile first-attempt delay.")
    within_5m: int = Field(description="Attempted within 5 minutes (0-300 s).")
    within_15m: int = Field(description="Attempted after 5 and within 15 minutes.")
    within_1h: int = Field(description="After 15 minutes, within 1 hour.")
    within_4h: int = Field(description="After 1 hour, within 4 hours.")
    within_24h: int = Field(description="After 4 hours, within 24 hours.")
    over_24h: int = Field(description="After 24 hours.")
    share_within_5m: float | None = Field(description="within_5m / attempted.")
    sla_measured: int = Field(
        description="Leads with `sla_due_at` that were attempted or are past due at `as_of`."
    )
    within_sla: int = Field(description="First attempt at or before `sla_due_at`.")
    share_within_sla: float | None = Field(description="within_sla / sla_measured.")
    sla_breaches: int = Field(description="Leads marked SLA-breached (`sla_breached_at`).")
    escalated_leads: int = Field(description="Leads escalated at least once.")
    escalations: int = Field(description="Sum of escalations.")


class SpeedReport(BaseModel):
    period: PeriodOut
    by_hour: list[SpeedRow] = Field(description="All 24 local hours of receipt.")
    by_weekday: list[SpeedRow] = Field(description="All 7 ISO weekdays of receipt.")
    by_team: list[SpeedRow] = Field(description="Teams with leads (null: unrouted).")
    by_member: list[SpeedRow] = Field(description="Members with leads (null: none assigned).")
    total: SpeedRow


Stage = Literal[
    "never_attempted", "attempted_not_reached", "reached_not_booked", "booked_not_shown"
]


class StageRow(BaseModel):
    stage: Stage = Field(
        description="The furthest step a stalled lead reached: never_attempted (no attempt); "
        "attempted_not_reached (attempts, none connected); reached_not_booked (connected, no "
        "appointment); booked_not_shown (booked, no completed visit, no appointment starting "
        "at or after `as_of`: missed, cancelled or never scheduled)."
    )
    leads: int
    share_of_leads: float | None = Field(description="leads / all leads of the group.")
    median_age_seconds: float | None = Field(description="Median of as_of - received_at.")
    p90_age_seconds: float | None = Field(description="90th percentile of the age.")
    oldest_age_seconds: float | None = Field(description="The oldest stalled lead's age.")
    under_1d: int = Field(description="Age under 1 day.")
    from_1d_to_7d: int = Field(description="1 to under 7 days.")
    from_7d_to_30d: int = Field(description="7 to under 30 days.")
    over_30d: int = Field(description="30 days or more.")


class DropoffGroup(BaseModel):
    name: str = Field(description="The group as people read it (see the funnel's `name`).")
    key: str | None = Field(description="The group (see the funnel's `key`); null on totals.")
    leads: int = Field(description="All leads of the group in the period.")
    upcoming: int = Field(description="Booked, not completed, an appointment still ahead.")
    completed: int = Field(description="Completed first visit: not stalled.")
    stalled: int = Field(description="Sum of the four stages.")
    no_slot_offered: int = Field(
        default=0,
        description="Stalled leads flagged `no_availability`: no free slot of their service "
        "at an eligible location within the horizon when they arrived.",
    )
    stages: list[StageRow] = Field(description="The four stages, in funnel order.")
    fix_first: Stage | None = Field(description="The stage holding the most stalled leads.")


class DropoffReport(BaseModel):
    period: PeriodOut
    group_by: Dimension | None
    rows: list[DropoffGroup]
    total: DropoffGroup


class BandRow(BaseModel):
    name: str = Field(description="`Hot`, `Warm`, `Cold`, `Not scored`.")
    band: str | None = Field(description="hot, warm, cold; null: not scored.")
    leads: int
    booked: int
    completed: int
    booked_rate: float | None = Field(description="booked / leads.")
    completed_rate: float | None = Field(description="completed / leads.")
    mean_score: float | None
    min_score: int | None
    max_score: int | None


class FactorRow(BaseModel):
    name: str = Field(description="The factor as people read it (`Contactability`).")
    factor: str = Field(description="A score factor (service, location, urgency, ...).")
    level: Literal["full", "partial", "none"] = Field(
        description="Points the lead earned on the factor: all of its maximum, some, or none."
    )
    leads: int
    booked: int
    completed: int
    booked_rate: float | None = Field(description="booked / leads.")
    completed_rate: float | None = Field(description="completed / leads.")


class CalibrationReport(BaseModel):
    period: PeriodOut
    by_band: list[BandRow]
    by_factor: list[FactorRow]
