"""Storing schedules and slots: resolve them to the practice, order them, write in bulk.

A request's resources are resolved first (each Schedule's location and services, each
Slot's schedule), so a `transaction` with one bad entry changes nothing and a `batch` answers
each entry on its own. Slots are then read, compared and written in three statements
whatever their number: one SELECT of the ones we hold, one multi-row INSERT, one pipelined
UPDATE. Ordering follows appointments: `meta.versionId`, else `meta.lastUpdated`; an older
change is answered and ignored.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.appointments.core import compare
from app.availability import queries
from app.availability.fhir import Entry, Problem, ScheduleData, SlotData
from app.availability.models import Schedule
from app.catalog import versions as practice_versions
from app.catalog.models import Location, Service
from app.db import utcnow
from app.errors import Unprocessable
from app.tenancy import scoped

Outcome = Literal["created", "updated", "unchanged", "ignored_older", "invalid"]


class AvailabilityInvalid(Unprocessable):
    type, title = "fhir-validation", "Invalid availability resources"


@dataclass
class Result:
    index: int
    kind: Literal["Schedule", "Slot"]
    external_id: str
    outcome: Outcome
    version: int = 0
    updated_at: dt.datetime | None = None
    problems: tuple[Problem, ...] = ()


@dataclass
class Written:
    results: list[Result]
    # Per service code that gained or changed a free slot, the earliest such slot's start.
    freed: dict[str, dt.datetime] = field(default_factory=dict)


@dataclass(frozen=True)
class Practice:
    """How the sender's names map to the practice: location refs and service codes."""

    locations: dict[str, uuid.UUID]
    services: dict[str, str]

    @classmethod
    async def load(cls, session: AsyncSession, org_id: uuid.UUID) -> Practice:
        locations: dict[str, uuid.UUID] = {}
        for loc_id, refs in (
            await session.execute(
                select(Location.id, Location.scheduler_ids).where(
                    Location.organization_id == org_id
                )
            )
        ).all():
            locations[f"Location/{loc_id}"] = loc_id
            for ref in refs:
                locations.setdefault(ref, loc_id)
                locations.setdefault(f"Location/{ref}", loc_id)
        services: dict[str, str] = {}
        for code, extra in (
            await session.execute(
                select(Service.code, Service.scheduler_codes).where(
                    Service.organization_id == org_id
                )
            )
        ).all():
            for name in (code, *extra):
                services.setdefault(name.lower(), code)
        return cls(locations, services)

    def location(self, refs: Sequence[str]) -> uuid.UUID | None:
        return next((self.locations[r] for r in refs if r in self.locations), None)

    def service_codes(self, codes: Sequence[str]) -> list[str]:
        return list(
            dict.fromkeys(self.services[c.lower()] for c in codes if c.lower() in self.services)
        )


def _pointer(entry: Entry, kind: str, path: str, bundle: bool) -> str:
    return f"Bundle.entry[{entry.index}].resource.{path}" if bundle else f"{kind}.{path}"


async def apply(
    session: AsyncSession,
    org_id: uuid.UUID,
    entries: Sequence[Entry],
    *,
    atomic: bool,
    bundle: bool = True,
    pulled: bool = False,
) -> Written:
    """Store the parsed entries. `atomic`: any problem refuses them all (AvailabilityInvalid)."""
    practice = await Practice.load(session, org_id)
    problems: dict[int, list[Problem]] = {e.index: list(e.problems) for e in entries if e.problems}
    schedules = [e for e in entries if isinstance(e.parsed, ScheduleData)]
    slots = [e for e in entries if isinstance(e.parsed, SlotData)]
    resolved_schedules: list[tuple[Entry, ScheduleData, uuid.UUID, list[str]]] = []
    for e in schedules:
        data = e.parsed
        assert isinstance(data, ScheduleData)
        loc = practice.location(data.location_refs)
        if loc is None:
            problems.setdefault(e.index, []).append(
                {
                    "field": _pointer(e, "Schedule", "actor", bundle),
                    "message": "names no location of the practice: use Location/{location id} or "
                    "an id registered in the location's scheduler_ids",
                }
            )
            continue
        resolved_schedules.append((e, data, loc, practice.service_codes(data.service_codes)))
    if atomic and problems:
        raise _invalid(problems)
    written = Written([])
    by_external = await _write_schedules(session, org_id, resolved_schedules, written, problems)
    known = await _schedules_for(session, org_id, by_external, slots)
    await _write_slots(session, org_id, slots, known, practice, written, problems, bundle, pulled)
    if atomic and problems:
        raise _invalid(problems)
    for index, found in problems.items():
        kind = _kind(entries, index)
        written.results.append(Result(index, kind, "", "invalid", problems=tuple(found)))
    written.results.sort(key=lambda r: r.index)
    return written


def _kind(entries: Sequence[Entry], index: int) -> Literal["Schedule", "Slot"]:
    entry = next((e for e in entries if e.index == index), None)
    return "Schedule" if entry is not None and isinstance(entry.parsed, ScheduleData) else "Slot"


def _invalid(problems: dict[int, list[Problem]]) -> AvailabilityInvalid:
    flat = [p for index in sorted(problems) for p in problems[index]]
    return AvailabilityInvalid("The resources are invalid; see `errors`.", extra={"errors": flat})


async def _write_schedules(
    session: AsyncSession,
    org_id: uuid.UUID,
    items: list[tuple[Entry, ScheduleData, uuid.UUID, list[str]]],
    written: Written,
    problems: dict[int, list[Problem]],
) -> dict[str, Schedule]:
    if not items:
        return {}
    ids = [data.external_id for _, data, _, _ in items]
    stmt = scoped(Schedule, org_id).where(Schedule.external_id.in_(ids)).with_for_update()
    held = {s.external_id: s for s in (await session.execute(stmt)).scalars()}
    bump = False
    for entry, data, loc, codes in items:
        row = held.get(data.external_id)
        if row is None:
            row = Schedule(
                id=uuid.uuid4(),
                organization_id=org_id,
                external_id=data.external_id,
                location_id=loc,
                practitioner=data.practitioner,
                service_codes=codes,
                active=data.active,
                source_version=data.order.source_version,
                source_updated_at=data.order.source_updated_at,
                version=1,
            )
            session.add(row)
            held[data.external_id] = row
            written.results.append(Result(entry.index, "Schedule", data.external_id, "created", 1))
            bump = True
            continue
        order = compare(
            row.source_version,
            row.source_updated_at,
            data.order.source_version,
            data.order.source_updated_at,
        )
        new = (loc, data.practitioner, codes, data.active)
        if order == "older" or (order == "same" or new == _schedule_facts(row)):
            outcome: Outcome = "ignored_older" if order == "older" else "unchanged"
            written.results.append(
                Result(entry.index, "Schedule", data.external_id, outcome, row.version)
            )
            continue
        bump = bump or new != _schedule_facts(row)
        row.location_id, row.practitioner, row.service_codes, row.active = (
            loc,
            data.practitioner,
            codes,
            data.active,
        )
        row.source_version = data.order.source_version or row.source_version
        row.source_updated_at = data.order.source_updated_at or row.source_updated_at
        row.version += 1
        written.results.append(
            Result(entry.index, "Schedule", data.external_id, "updated", row.version)
        )
    await session.flush()
    if bump:
        # Which services have schedules is part of the compiled practice (app.scoring).
        await practice_versions.bump(session, org_id)
    return held


def _schedule_facts(row: Schedule) -> tuple[Any, ...]:
    return (row.location_id, row.practitioner, list(row.service_codes), row.active)


async def _schedules_for(
    session: AsyncSession, org_id: uuid.UUID, known: dict[str, Schedule], slots: list[Entry]
) -> dict[str, Schedule]:
    wanted = {e.parsed.schedule_id for e in slots if isinstance(e.parsed, SlotData)} - set(known)
    if wanted:
        stmt = scoped(Schedule, org_id).where(Schedule.external_id.in_(wanted))
        for row in (await session.execute(stmt)).scalars():
            known[row.external_id] = row
    return known


def _slot_service(data: SlotData, schedule: Schedule, practice: Practice) -> str | None:
    # The slot's own service type overrides its schedule's (FHIR Slot.serviceType).
    own = practice.service_codes(data.service_codes)
    if own:
        return own[0]
    return schedule.service_codes[0] if schedule.service_codes else None


async def _write_slots(
    session: AsyncSession,
    org_id: uuid.UUID,
    entries: list[Entry],
    schedules: dict[str, Schedule],
    practice: Practice,
    written: Written,
    problems: dict[int, list[Problem]],
    bundle: bool,
    pulled: bool,
) -> None:
    if not entries:
        return
    ids = list({e.parsed.external_id for e in entries if isinstance(e.parsed, SlotData)})
    held = {r["external_id"]: r for r in await queries.held_slots(session, org_id, ids)}
    now = utcnow()
    inserts: dict[str, dict[str, Any]] = {}
    updates: dict[str, dict[str, Any]] = {}
    observed: dict[uuid.UUID, set[str]] = {}
    for e in entries:
        data = e.parsed
        assert isinstance(data, SlotData)
        schedule = schedules.get(data.schedule_id)
        if schedule is None:
            problems.setdefault(e.index, []).append(
                {
                    "field": _pointer(e, "Slot", "schedule", bundle),
                    "message": "names no Schedule we hold: send it first or in the same Bundle",
                }
            )
            continue
        service = _slot_service(data, schedule, practice)
        facts = {
            "schedule_id": schedule.id,
            "location_id": schedule.location_id,
            "practitioner": data.practitioner or schedule.practitioner,
            "service_code": service,
            "appointment_type": data.appointment_type,
            "status": data.status,
            "start": data.start,
            "end": data.end,
        }
        if service is not None and service not in schedule.service_codes:
            observed.setdefault(schedule.id, set()).add(service)
        current = (
            inserts.get(data.external_id)
            or updates.get(data.external_id)
            or held.get(data.external_id)
        )
        if current is None:
            row: dict[str, Any] = {
                "id": uuid.uuid4(),
                "organization_id": org_id,
                "external_id": data.external_id,
                **facts,
                "pulled": pulled,
                "source_version": data.order.source_version,
                "source_updated_at": data.order.source_updated_at,
                "version": 1,
                "updated_at": now,
            }
            inserts[data.external_id] = row
            written.results.append(Result(e.index, "Slot", data.external_id, "created", 1, now))
            _note_free(written, row)
            continue
        order = compare(
            current["source_version"],
            current["source_updated_at"],
            data.order.source_version,
            data.order.source_updated_at,
        )
        changed = any(current[k] != v for k, v in facts.items())
        if order == "older" or order == "same" or not changed:
            outcome: Outcome = "ignored_older" if order == "older" else "unchanged"
            written.results.append(
                Result(e.index, "Slot", data.external_id, outcome, current["version"])
            )
            continue
        row = {
            **current,
            **facts,
            "version": current["version"] + 1,
            "updated_at": now,
            "source_version": data.order.source_version or current["source_version"],
            "source_updated_at": data.order.source_updated_at or current["source_updated_at"],
        }
        (inserts if data.external_id in inserts else updates)[data.external_id] = row
        written.results.append(
            Result(e.index, "Slot", data.external_id, "updated", int(row["version"]), now)
        )
        _note_free(written, row)
    await queries.write_slots(session, list(inserts.values()), list(updates.values()))
    await _add_observed_services(session, org_id, schedules, observed)


def _note_free(written: Written, row: dict[str, Any]) -> None:
    service, start = row["service_code"], row["start"]
    if row["status"] == "free" and service is not None:
        written.freed[service] = min(start, written.freed.get(service, start))


async def _add_observed_services(
    session: AsyncSession,
    org_id: uuid.UUID,
    schedules: dict[str, Schedule],
    observed: dict[uuid.UUID, set[str]],
) -> None:
    if not observed:
        return
    for schedule in schedules.values():
        extra = observed.get(schedule.id)
        if extra:
            schedule.service_codes = [
                *schedule.service_codes,
                *sorted(extra - set(schedule.service_codes)),
            ]
    await session.flush()
    await practice_versions.bump(session, org_id)
