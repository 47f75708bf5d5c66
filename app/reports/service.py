"""Reports: run the SQL, then shape its aggregate rows (no per-lead work happens here)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.reports import diagnostics, names, queries
from app.reports import unmatched as unmatched_spend
from app.reports.period import Dimension, Period
from app.reports.schemas import (
    BandRow,
    CalibrationReport,
    CostReport,
    CostRow,
    Delay,
    DropoffGroup,
    DropoffReport,
    FactorRow,
    FunnelMetrics,
    FunnelReport,
    FunnelRow,
    PeriodOut,
    SpeedReport,
    SpeedRow,
    StageRow,
)

Row = Mapping[str, Any]
CENT = Decimal("0.01")
COST_LEVELS = {0: "campaign", 1: "source", 3: "total"}


def rate(numerator: int, denominator: int) -> float | None:
    if not denominator:
        return None
    return float(
        (Decimal(numerator) / Decimal(denominator)).quantize(Decimal("0.0001"), ROUND_HALF_UP)
    )


def _seconds(value: Any) -> float | None:
    return None if value is None else round(float(value), 1)


def _pct(values: Sequence[Any] | None) -> tuple[float | None, float | None]:
    if not values:
        return None, None
    return _seconds(values[0]), _seconds(values[1])


def _period(period: Period) -> PeriodOut:
    return PeriodOut.model_validate(period.describe())


def _delay(r: Row, prefix: str, reached: int) -> Delay:
    median, p90 = _pct(r[f"{prefix}_pct"])
    due, within = r[f"{prefix}_sla_due"], r[f"{prefix}_in_sla"]
    return Delay(
        median_seconds=median,
        p90_seconds=p90,
        within_5_minutes=r[f"{prefix}_5m"],
        share_within_5_minutes=rate(r[f"{prefix}_5m"], reached),
        sla_measured=due,
        within_sla=within,
        share_within_sla=rate(within, due),
    )


def _funnel_metrics(r: Row) -> dict[str, Any]:
    counts = {
        k: int(r[k])
        for k in (
            "leads", "resubmissions", "qualified", "emergencies", "attempted", "contacted",
            "booked", "completed", "no_shows", "cancellations", "visits_due",
        )
    }  # fmt: skip
    leads, booked = counts["leads"], counts["booked"]
    return {
        **counts,
        "qualified_rate": rate(counts["qualified"], leads),
        "contact_rate": rate(counts["contacted"], leads),
        "lead_to_appointment_rate": rate(booked, leads),
        "show_rate": rate(r["visits_shown"], counts["visits_due"]),
        "completion_rate": rate(counts["completed"], booked),
        "first_attempt": _delay(r, "attempt", counts["attempted"]),
        "first_connection": _delay(r, "connect", counts["contacted"]),
    }


async def funnel(session: AsyncSession, period: Period, group_by: Dimension | None) -> FunnelReport:
    rows, total = await queries.funnel(session, period, group_by)
    name = await names.namer(session, period.org_id, group_by) if group_by else None
    return FunnelReport(
        period=_period(period),
        group_by=group_by,
        rows=[
            FunnelRow(name=name(r["key"]) if name else names.TOTAL, key=r["key"],
                      **_funnel_metrics(r))
            for r in rows
        ],
        total=FunnelMetrics(**_funnel_metrics(total)),
    )  # fmt: skip


def _per(spend: Decimal | None, count: int) -> Decimal | None:
    if spend is None or not count:
        return None
    return (spend / count).quantize(CENT, ROUND_HALF_UP)


def _cost_row(r: Row, source_name: names.Namer) -> CostRow:
    spend = Decimal(r["spend"]).quantize(CENT)
    # No spend imported for the group: its cost is unknown, not zero.
    known = spend if r["has_spend"] else None
    level = COST_LEVELS[r["level"]]
    source = None if level == "total" else source_name(r["source"])
    campaign = r["campaign"] or names.MISSING["campaign"]
    label = {"campaign": f"{source} · {campaign}", "source": source}.get(level, names.TOTAL)
    return CostRow(
        name=label or names.TOTAL,
        level=level,
        source=r["source"],
        source_name=source,
        campaign=r["campaign"],
        spend=spend,
        leads=r["leads"],
        qualified=r["qualified"],
        booked=r["booked"],
        completed=r["completed"],
        cost_per_lead=_per(known, r["leads"]),
        cost_per_qualified_lead=_per(known, r["qualified"]),
        cost_per_booked_appointment=_per(known, r["booked"]),
        cost_per_completed_visit=_per(known, r["completed"]),
    )


async def cost(session: AsyncSession, period: Period) -> CostReport:
    rows = await queries.cost(session, period)
    source_name = await names.namer(session, period.org_id, Dimension.SOURCE)
    unmatched = await unmatched_spend.find(session, period, rows)
    return CostReport(
        period=_period(period),
        currency=await queries.currency(session, period),
        rows=[_cost_row(r, source_name) for r in rows],
        unmatched_spend=unmatched,
        unmatched_total=sum((u.spend for u in unmatched), Decimal("0.00")),
    )


def _speed_row(dimension: str, key: Any, r: Row | None, name: str) -> SpeedRow:
    r = r or {}
    leads, attempted = int(r.get("leads", 0)), int(r.get("attempted", 0))
    median, p90 = _pct(r.get("attempt_pct"))
    buckets = ("within_5m", "within_15m", "within_1h", "within_4h", "within_24h", "over_24h")
    due, within = int(r.get("sla_due", 0)), int(r.get("in_sla", 0))
    return SpeedRow(
        name=name,
        dimension=dimension,
        key=None if key is None else str(key),
        leads=leads,
        attempted=attempted,
        never_attempted=leads - attempted,
        median_seconds=median,
        p90_seconds=p90,
        **{b: int(r.get(b, 0)) for b in buckets},
        share_within_5m=rate(int(r.get("within_5m", 0)), attempted),
        sla_measured=due,
        within_sla=within,
        share_within_sla=rate(within, due),
        sla_breaches=int(r.get("sla_breaches", 0)),
        escalated_leads=int(r.get("escalated_leads", 0)),
        escalations=int(r.get("escalations", 0)),
    )


async def speed(session: AsyncSession, period: Period) -> SpeedReport:
    rows = await diagnostics.speed(session, period)
    by: dict[str, list[Row]] = {name: [] for name in diagnostics.SPEED_SETS.values()}
    for r in rows:
        by[diagnostics.SPEED_SETS[r["grouping"]]].append(r)
    hours = {r["hour"]: r for r in by["hour"]}
    days = {r["weekday"]: r for r in by["weekday"]}
    team = await names.namer(session, period.org_id, Dimension.TEAM)
    member = await names.namer(session, period.org_id, Dimension.MEMBER)
    total = by["total"][0] if by["total"] else None
    return SpeedReport(
        period=_period(period),
        by_hour=[_speed_row("hour", h, hours.get(h), names.hour_name(h)) for h in range(24)],
        by_weekday=[
            _speed_row("weekday", d, days.get(d), names.weekday_name(d)) for d in range(1, 8)
        ],
        by_team=[_speed_row("team", r["team"], r, team(r["team"])) for r in by["team"]],
        by_member=[_speed_row("member", r["member"], r, member(r["member"])) for r in by["member"]],
        total=_speed_row("total", None, total, names.TOTAL),
    )


def _stage(stage: str, r: Row | None, group_leads: int) -> StageRow:
    r = r or {}
    median, p90 = _pct(r.get("age_pct"))
    leads = int(r.get("leads", 0))
    buckets = ("under_1d", "from_1d_to_7d", "from_7d_to_30d", "over_30d")
    return StageRow(
        stage=stage,
        leads=leads,
        share_of_leads=rate(leads, group_leads),
        median_age_seconds=median,
        p90_age_seconds=p90,
        oldest_age_seconds=_seconds(r.get("oldest_s")),
        **{b: int(r.get(b, 0)) for b in buckets},
    )


def _dropoff_group(key: str | None, rows: list[Row], name: str) -> DropoffGroup:
    by_stage = {r["stage"]: r for r in rows}
    leads = sum(int(r["leads"]) for r in rows)
    stages = [_stage(s, by_stage.get(s), leads) for s in diagnostics.STALLED]
    stalled = sum(s.leads for s in stages)
    worst = max(stages, key=lambda s: s.leads)
    return DropoffGroup(
        name=name,
        key=key,
        leads=leads,
        upcoming=int(by_stage.get("upcoming", {}).get("leads", 0)),
        completed=int(by_stage.get("completed", {}).get("leads", 0)),
        stalled=stalled,
        no_slot_offered=sum(
            int(by_stage.get(s, {}).get("no_slot_offered", 0)) for s in diagnostics.STALLED
        ),
        stages=stages,
        fix_first=worst.stage if worst.leads else None,
    )


async def dropoff(
    session: AsyncSession, period: Period, group_by: Dimension | None
) -> DropoffReport:
    rows = await diagnostics.dropoff(session, period, group_by)
    groups: dict[str | None, list[Row]] = {}
    for r in rows:
        if not r["is_total"]:
            groups.setdefault(r["key"], []).append(r)
    name = await names.namer(session, period.org_id, group_by) if group_by else None
    return DropoffReport(
        period=_period(period),
        group_by=group_by,
        rows=[_dropoff_group(k, v, name(k)) for k, v in groups.items()] if name else [],
        total=_dropoff_group(None, [r for r in rows if r["is_total"]], names.TOTAL),
    )


async def calibration(
    session: AsyncSession, period: Period, *, factors: bool = True
) -> CalibrationReport:
    bands, factors_ = await diagnostics.calibration(session, period, factors=factors)
    band = await names.namer(session, period.org_id, Dimension.SCORE_BAND)
    return CalibrationReport(
        period=_period(period),
        by_band=[
            BandRow(
                **r, name=band(r["band"]), booked_rate=rate(r["booked"], r["leads"]),
                completed_rate=rate(r["completed"], r["leads"]),
            )
            for r in bands
        ],
        by_factor=[
            FactorRow(
                **r, name=r["factor"].replace("_", " ").capitalize(),
                booked_rate=rate(r["booked"], r["leads"]),
                completed_rate=rate(r["completed"], r["leads"]),
            )
            for r in factors_
        ],
    )  # fmt: skip
