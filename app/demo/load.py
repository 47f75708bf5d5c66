"""Load the demo's past into the database: decided by the service's own cores, written in bulk.

Each lead of app/demo/history.py is normalised, scored and routed as intake would at the
moment it arrived (the same functions: normalisation, `scoring.service.assess`, the routing
core with the live rule set and each team's rotation carried from lead to lead), its journey
drawn (app/demo/journey.py), and then every row is written with multi-row statements in
bulk mode (app/leads/bulk.py): the triggers keep `lead_metrics`, `lead_rollup` and the
member-load counters per statement, so the reports read exactly what leads made one by one
would give them. What intake does that a past cannot have (webhook inbox rows, outbox
messages, audit events of API keys) is not written.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import random
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from app.appointments.core import summarize
from app.appointments.models import Appointment
from app.auth.models import Organization
from app.consent import evidence as consent_evidence
from app.consent import service as consent_service
from app.db import Base, utcnow
from app.demo import history, journey
from app.demo.sources import DEMO_DISCLOSURE
from app.direct import row_columns, row_values
from app.leads import bulk, record
from app.leads.canonical import CanonicalLead
from app.leads.identity import Identity
from app.leads.models import Lead, LeadSubmission, Source
from app.leads.normalize import normalize
from app.leads.status import History, derive
from app.outbox.models import LeadEvent
from app.outreach.history import UNREACHABLE_AFTER
from app.outreach.models import FAILED_OUTCOMES, ContactAttempt
from app.reports.models import Spend
from app.routing import rulesets
from app.routing import service as routing_service
from app.routing.config import routing_config, with_live_state
from app.routing.core import RoutingError, route
from app.routing.strategies import RotationState
from app.scoring import service as scoring_service

Progress = Callable[[str, int, int], None]
ALL_CHANNELS = ["voice", "sms", "email"]


@dataclass(frozen=True)
class HistoryResult:
    created: bool
    leads: int
    first_day: dt.date | None = None
    last_day: dt.date | None = None


@dataclass
class _Rows:
    leads: list[dict[str, Any]]
    submissions: list[dict[str, Any]]
    attempts: list[dict[str, Any]]
    appointments: list[dict[str, Any]]
    events: list[dict[str, Any]]
    consent: list[tuple[Lead, consent_service.EventSpec]]


def _quiet(stage: str, done: int, total: int) -> None:
    return None


async def existing_history(session: AsyncSession, org_id: uuid.UUID) -> int:
    """Leads the demo history wrote before (their external ids start with `demo-`)."""
    found = await session.execute(
        select(func.count()).where(Lead.organization_id == org_id, Lead.external_id.like("demo-%"))
    )
    return int(found.scalar_one())


async def seed_history(
    session: AsyncSession,
    org_id: uuid.UUID,
    *,
    days: int = 90,
    seed: int = history.SEED,
    now: dt.datetime | None = None,
    progress: Progress = _quiet,
) -> HistoryResult:
    """Write `days` days of history before `now` (default: now), once per organisation."""
    already = await existing_history(session, org_id)
    if already:
        return HistoryResult(created=False, leads=already)
    now = now or utcnow()
    org = await session.get(Organization, org_id)
    assert org is not None
    zone = ZoneInfo(org.time_zone)
    arrivals = history.arrivals(now, org.time_zone, days, seed)
    sources = {
        s.kind: s for s in (await session.execute(select(Source).where(
            Source.organization_id == org_id))).scalars()
    }  # fmt: skip
    rows = await _decide_all(session, org_id, arrivals, sources, zone, now, progress)
    await bulk.enable(session)
    try:
        await _write(session, org_id, rows, sources, now, org.time_zone, days, seed, progress)
    finally:
        await bulk.disable(session)
    first = arrivals[0].received_at.astimezone(zone).date() if arrivals else None
    last = arrivals[-1].received_at.astimezone(zone).date() if arrivals else None
    return HistoryResult(True, len(arrivals), first, last)


async def _decide_all(
    session: AsyncSession,
    org_id: uuid.UUID,
    arrivals: Sequence[history.Arrival],
    sources: dict[str, Source],
    zone: ZoneInfo,
    now: dt.datetime,
    progress: Progress,
) -> _Rows:
    ruleset = await rulesets.live(session, org_id)
    config = await routing_config(session, org_id)
    nurture = next((t for t in config.teams.values() if t.name == "Nurture queue"), None)
    rotations: dict[str, RotationState] = {}
    out = _Rows([], [], [], [], [], [])
    for n, arrival in enumerate(arrivals):
        rng = random.Random(arrival.rng_seed)
        source = sources.get(arrival.source)
        lead = await _decided_lead(session, org_id, arrival, source, rng)
        if ruleset is not None:
            kind = source.kind if source is not None else "api"
            states = {
                tid: with_live_state(team, rotations.get(tid, team.rotation), {})
                for tid, team in config.teams.items()
            }
            try:
                decision = route(routing_service.facts_for(lead, kind), ruleset, states,
                                 arrival.received_at)  # fmt: skip
            except RoutingError:
                decision = None
            if decision is not None:
                rotations[decision.team_id] = decision.new_rotation
                routing_service.apply_decision(lead, decision, arrival.received_at)
        is_nurture = nurture is not None and str(lead.team_id) == nurture.team_id
        decided = journey.Decided(
            qualified=lead.qualified,
            band=lead.score_band,
            urgent=lead.urgency in ("urgent", "emergency") or lead.emergency,
            callback_at=lead.callback_at,
            nurture=is_nurture,
            inbound_call=arrival.source == "call_tracking",
        )
        trip = journey.journey(rng, arrival.received_at, decided, zone, now)
        nurture_team = nurture.team_id if nurture is not None else None
        nurture_member = nurture.members[0].member_id if nurture and nurture.members else None
        _record(out, lead, arrival, source, trip, rng, now, nurture_team, nurture_member)
        if n % 100 == 0 or n == len(arrivals) - 1:
            progress("deciding leads", n + 1, len(arrivals))
    return out


async def _decided_lead(
    session: AsyncSession,
    org_id: uuid.UUID,
    arrival: history.Arrival,
    source: Source | None,
    rng: random.Random,
) -> Lead:
    lead_in = CanonicalLead.model_validate(arrival.body)
    norm = normalize(lead_in)
    lead = Lead(id=uuid.uuid5(org_id, f"demo-lead:{arrival.index}"), organization_id=org_id,
                received_at=arrival.received_at)  # fmt: skip
    channel = lead_in.channel or (source.kind if source else "api")
    record.fill(lead, lead_in, norm, source, channel)
    lead.last_submitted_at = arrival.received_at
    consent = lead_in.consent
    await scoring_service.assess(
        session, lead, consent_checked=bool(consent and consent.checked), now=arrival.received_at
    )
    derive_status(lead)
    return lead


def derive_status(lead: Lead, h: History = History()) -> None:
    lead.status = derive(lead, h)


def _record(
    out: _Rows,
    lead: Lead,
    arrival: history.Arrival,
    source: Source | None,
    trip: journey.Journey,
    rng: random.Random,
    now: dt.datetime,
    nurture_team: str | None,
    nurture_member: str | None,
) -> None:
    received = arrival.received_at
    org_id = lead.organization_id

    serial = itertools.count()

    def ident() -> uuid.UUID:
        """Ids as deterministic as the history, and distinct per organisation."""
        return uuid.uuid5(org_id, f"demo:{arrival.index}:{next(serial)}")

    submissions = [(received, False)]
    if arrival.resubmitted_after is not None and received + arrival.resubmitted_after < now:
        submissions.append((received + arrival.resubmitted_after, True))
        lead.resubmission_count = 1
        lead.last_submitted_at = submissions[-1][0]
    for at, again in submissions:
        sub = LeadSubmission(
            id=ident(), organization_id=org_id, lead_id=lead.id,
            source_id=source.id if source else None, received_at=at, is_resubmission=again,
            external_id=lead.external_id, channel=lead.channel, attribution=lead.attribution,
            normalization_flags=list(lead.normalization_flags or []), payload=lead.pii,
        )  # fmt: skip
        out.submissions.append(row_values(sub, ""))
    events: list[tuple[dt.datetime, str, dict[str, Any]]] = []
    member = lead.member_id
    for at, outcome, direction in trip.attempts:
        attempt = ContactAttempt(
            id=ident(), organization_id=org_id, lead_id=lead.id, member_id=member,
            origin="call_tracking" if direction == "inbound" else "api", channel="voice",
            direction=direction, purpose="scheduling", outcome=outcome, attempted_at=at,
            ended_at=at + dt.timedelta(seconds=rng.randint(20, 420)), created_at=at,
        )  # fmt: skip
        out.attempts.append(row_values(attempt, ""))
    lead.first_attempt_at = trip.first_attempt_at
    lead.first_connected_at = trip.first_connected_at
    due = lead.sla_due_at
    if (
        due is not None
        and due < now
        and (trip.first_attempt_at is None or trip.first_attempt_at > due)
    ):
        lead.sla_breached_at = due
        events.append((due, "lead.sla_breached", {"missed_due_at": due.isoformat(),
                                                  "escalation_count": 0}))  # fmt: skip
    statuses: list[str] = []
    for created, start, status in trip.appointments:
        appt = Appointment(
            id=ident(), organization_id=org_id, lead_id=lead.id,
            external_id=f"demo-appt-{ident().hex[:12]}", status=status,
            cancellation_reason="patient" if status == "cancelled" else None,
            service=lead.service_code, start=start, end=start + dt.timedelta(minutes=30),
            version=1, updated_at=min(max(start, created), now), created_at=created,
        )  # fmt: skip
        out.appointments.append(row_values(appt, ""))
        statuses.append(status)
    if trip.nurture_at is not None and nurture_team is not None:
        before = {"team_id": _str(lead.team_id), "member_id": _str(lead.member_id)}
        lead.team_id = uuid.UUID(nurture_team)
        lead.member_id = uuid.UUID(nurture_member) if nurture_member else None
        after = {"team_id": nurture_team, "member_id": nurture_member}
        trace = dict(lead.routing_trace or {})
        trace["events"] = [{"type": "reassign", "at": trip.nurture_at.isoformat(),
                            "reason": "no booking two weeks after contact",
                            "from": before, "to": after, "decision": None}]  # fmt: skip
        lead.routing_trace = trace
        events.append((trip.nurture_at, "lead.reassigned", {"from": before, "to": after}))
    if trip.declined_at is not None:
        lead.do_not_contact = list(ALL_CHANNELS)
    elif trip.stop_at is not None:
        lead.do_not_contact = ["sms"]
    events.extend(_status_events(lead, trip))
    failed = sum(1 for _, o, d in trip.attempts if d == "outbound" and o in FAILED_OUTCOMES)
    appointment, no_show = summarize(statuses)
    derive_status(lead, History(
        appointment_status=appointment, had_no_show=no_show,
        unreachable=failed >= UNREACHABLE_AFTER and trip.first_connected_at is None,
        lost=trip.declined_at is not None,
    ))  # fmt: skip
    lead.updated_at = max([received, *(at for at, _, _ in events)])
    out.leads.append(row_values(lead, ""))
    for at, kind, data in sorted(events, key=lambda e: e[0]):
        out.events.append({"organization_id": org_id, "lead_id": lead.id, "type": kind,
                           "data": data, "occurred_at": at})  # fmt: skip
    _consent(out, lead, arrival, source, trip)


def _str(value: uuid.UUID | None) -> str | None:
    return str(value) if value else None


def _status_events(
    lead: Lead, trip: journey.Journey
) -> list[tuple[dt.datetime, str, dict[str, Any]]]:
    """`lead.status_changed` at each step of the journey, as `recompute` records them."""
    steps: list[tuple[dt.datetime, str, Any]] = [
        (at, "attempt", (outcome, direction)) for at, outcome, direction in trip.attempts
    ]
    for created, start, status in trip.appointments:
        steps.append((created, "booked", None))
        if status != "booked":
            when = start if status != "cancelled" else created + (start - created) / 2
            steps.append((min(when, utcnow()), status, None))
    steps.sort(key=lambda s: s[0])
    out: list[tuple[dt.datetime, str, dict[str, Any]]] = []
    before = lead.status
    connected_at = lead.first_connected_at
    lead.first_connected_at = None
    appts: list[str] = []
    failed, lost = 0, False
    for at, kind, data in steps:
        if kind == "attempt":
            outcome, direction = data
            if outcome == "connected" and lead.first_connected_at is None:
                lead.first_connected_at = at
            failed += direction == "outbound" and outcome in FAILED_OUTCOMES
            lost = lost or outcome == "do_not_contact_requested"
        elif kind == "booked":
            appts.append("booked")
        else:
            appts[-1] = kind
        appointment, no_show = summarize(appts)
        after = derive(lead, History(appointment, no_show, failed >= UNREACHABLE_AFTER
                                     and lead.first_connected_at is None, lost))  # fmt: skip
        if after != before:
            out.append((at, "lead.status_changed", {"from": before, "to": after}))
            before = after
    lead.first_connected_at = connected_at
    return out


def _consent(
    out: _Rows,
    lead: Lead,
    arrival: history.Arrival,
    source: Source | None,
    trip: journey.Journey,
) -> None:
    consent = arrival.body.get("consent")
    received = arrival.received_at
    if consent is not None:
        out.consent.append((lead, consent_service.EventSpec(
            decision="granted" if consent["checked"] else "denied",
            channels=tuple(consent["channels"]), purposes=("scheduling",), origin="lead",
            captured_at=received, seller="Lakeshore Orthopedics & Sleep",
            source_id=source.id if source else None,
        )))  # fmt: skip
    if trip.declined_at is not None:
        out.consent.append((lead, consent_service.EventSpec(
            decision="revoked", channels=tuple(ALL_CHANNELS), purposes=("scheduling", "marketing"),
            origin="revocation", captured_at=trip.declined_at, via="call",
        )))  # fmt: skip
    elif trip.stop_at is not None:
        out.consent.append((lead, consent_service.EventSpec(
            decision="revoked", channels=("sms",), purposes=("scheduling", "marketing"),
            origin="revocation", captured_at=trip.stop_at, via="sms_reply", keyword="STOP",
        )))  # fmt: skip


async def _insert(
    session: AsyncSession,
    model: type[Base],
    rows: list[dict[str, Any]],
    label: str,
    progress: Progress,
) -> None:
    """COPY into the table, in the session's transaction: one statement per table, whose
    rows reach the bulk triggers together (app/leads/bulk.py)."""
    if not rows:
        return
    columns = [(key, column) for key, column in row_columns(model) if key in rows[0]]
    json_keys = {key for key, column in columns if isinstance(column.type, JSONB)}
    records = [
        tuple(json.dumps(r[key]) if key in json_keys else r[key] for key, _ in columns)
        for r in rows
    ]
    raw = await (await session.connection()).get_raw_connection()
    await raw.driver_connection.copy_records_to_table(  # type: ignore[union-attr]
        model.__tablename__, records=records, columns=[c.name for _, c in columns]
    )
    progress(label, len(rows), len(rows))


async def _write(
    session: AsyncSession,
    org_id: uuid.UUID,
    rows: _Rows,
    sources: dict[str, Source],
    now: dt.datetime,
    time_zone: str,
    days: int,
    seed: int,
    progress: Progress,
) -> None:
    await _insert(session, Lead, rows.leads, "writing leads", progress)
    await _insert(session, LeadSubmission, rows.submissions, "writing submissions", progress)
    await _insert(session, ContactAttempt, rows.attempts, "writing contact attempts", progress)
    await _insert(session, Appointment, rows.appointments, "writing appointments", progress)
    await _insert(session, LeadEvent, rows.events, "writing timelines", progress)
    await _write_consent(session, org_id, rows.consent, progress)
    spend = []
    for r in history.spend(now, time_zone, days, seed):
        label = str(r["source"])
        source = label.removeprefix("label:") if label.startswith("label:") else None
        if source is None:
            found = sources.get(label)
            source = str(found.id) if found is not None else label
        spend.append({"id": uuid.uuid4(), "organization_id": org_id, "date": r["date"],
                      "source": source, "campaign": r["campaign"], "amount": r["amount"],
                      "currency": "USD"})  # fmt: skip
    await _insert(session, Spend, spend, "writing spend", progress)


async def _write_consent(
    session: AsyncSession,
    org_id: uuid.UUID,
    specs: list[tuple[Lead, consent_service.EventSpec]],
    progress: Progress,
) -> None:
    """Consent evidence through the consent service's own writer, one lead at a time (each
    event's evidence is sealed with its own id)."""
    disclosure = await consent_evidence.disclosure_id(session, org_id, DEMO_DISCLOSURE)
    for n, (lead, spec) in enumerate(specs):
        if spec.decision == "granted":
            spec = consent_service.EventSpec(**{**spec.__dict__, "disclosure_id": disclosure})
        who = Identity.of_lead(lead)
        await consent_service.record_events(session, org_id, lead.id, who, spec)
        if spec.decision == "revoked":
            # As a revocation does: the number and address stay blocked for later leads.
            for kind, value in (("phone", who.phone_hash), ("email", who.email_hash)):
                if value:
                    await consent_service.suppress(
                        session, org_id, kind, value, spec.channels, spec.via
                    )
        if n % 200 == 0 or n == len(specs) - 1:
            progress("writing consent evidence", n + 1, len(specs))
