"""Choosing by availability: pure functions over free slots already loaded.

`choose` ranks the locations a lead may be seen at by the local day of their earliest
matching free slot, then by distance: a slot tomorrow eight miles away beats one in six
weeks next door, and two locations with a slot the same day go to the nearer one. No I/O,
no clock: the caller passes `now`.
"""

from __future__ import annotations

import datetime as dt
import math
from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo

FREE = "free"
STATUSES = frozenset({"free", "busy", "busy-unavailable", "busy-tentative", "entered-in-error"})
OFFERED = 3
DAY = 86400.0


@dataclass(frozen=True, slots=True)
class FreeSlot:
    id: str  # the scheduler's id
    start: dt.datetime
    end: dt.datetime
    location_id: str
    service: str
    practitioner: str | None = None
    appointment_type: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "start": _iso(self.start),
            "end": _iso(self.end),
            "location_id": self.location_id,
            "practitioner": self.practitioner,
            "service": self.service,
            "appointment_type": self.appointment_type,
        }


def _iso(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class SlotBook:
    """Free slots of one service, per location id, sorted by start (with the starts apart,
    for bisection)."""

    service: str
    slots: Mapping[str, tuple[FreeSlot, ...]]
    starts: Mapping[str, tuple[dt.datetime, ...]]

    @classmethod
    def build(cls, service: str, slots: Iterable[FreeSlot]) -> SlotBook:
        by_location: dict[str, list[FreeSlot]] = {}
        for slot in slots:
            by_location.setdefault(slot.location_id, []).append(slot)
        ordered = {
            k: tuple(sorted(v, key=lambda s: (s.start, s.id))) for k, v in by_location.items()
        }
        return cls(
            service,
            MappingProxyType(ordered),
            MappingProxyType({k: tuple(s.start for s in v) for k, v in ordered.items()}),
        )


@dataclass(frozen=True, slots=True)
class Window:
    """Which free slots fit a lead: starting in [now, until), of one of `types` (None: any)."""

    now: dt.datetime
    until: dt.datetime
    types: frozenset[str] | None = None


def window(
    now: dt.datetime, horizon_days: int, new_patient_types: Sequence[str], new_patient: bool | None
) -> Window:
    """A lead not known to be an established patient books a new-patient slot type, when the
    service names some."""
    types = frozenset(new_patient_types) if new_patient_types and new_patient is not False else None
    return Window(now, now + dt.timedelta(days=horizon_days), types)


def matching(
    book: SlotBook, location_id: str, win: Window, limit: int = OFFERED
) -> tuple[FreeSlot, ...]:
    """The first `limit` slots at the location that fit the window, earliest first."""
    starts = book.starts.get(location_id)
    if not starts:
        return ()
    slots = book.slots[location_id]
    out: list[FreeSlot] = []
    for i in range(bisect_left(starts, win.now), len(starts)):
        slot = slots[i]
        if slot.start >= win.until:
            break
        if win.types is None or slot.appointment_type in win.types:
            out.append(slot)
            if len(out) >= limit:
                break
    return tuple(out)


@dataclass(frozen=True, slots=True)
class Candidate:
    location_id: str
    name: str
    distance_miles: float | None
    time_zone: str


@dataclass(frozen=True, slots=True)
class Considered:
    candidate: Candidate
    slots: tuple[FreeSlot, ...]

    @property
    def first(self) -> FreeSlot | None:
        return self.slots[0] if self.slots else None

    def to_json(self, now: dt.datetime) -> dict[str, Any]:
        first = self.first
        return {
            "location_id": self.candidate.location_id,
            "name": self.candidate.name,
            "distance_miles": self.candidate.distance_miles,
            "first_slot_days": None if first is None else days_until(now, first.start),
            "slots": [s.to_json() for s in self.slots],
        }


@dataclass(frozen=True, slots=True)
class Choice:
    location_id: str | None
    considered: tuple[Considered, ...]
    reason: str
    # No candidate had a fitting free slot within the window.
    no_availability: bool

    @property
    def chosen(self) -> Considered | None:
        return next(
            (c for c in self.considered if c.candidate.location_id == self.location_id), None
        )

    @property
    def offered(self) -> tuple[FreeSlot, ...]:
        chosen = self.chosen
        return chosen.slots if chosen else ()

    @property
    def first_slot(self) -> FreeSlot | None:
        chosen = self.chosen
        return chosen.first if chosen else None


def days_until(now: dt.datetime, start: dt.datetime) -> float:
    return round((start - now).total_seconds() / DAY, 2)


@lru_cache(maxsize=256)
def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ValueError, KeyError):
        return ZoneInfo("UTC")


def _rank(item: Considered) -> tuple[bool, dt.date, float, dt.datetime, str]:
    first, cand = item.first, item.candidate
    distance = math.inf if cand.distance_miles is None else cand.distance_miles
    if first is None:
        return (
            True,
            dt.date.max,
            distance,
            dt.datetime.max.replace(tzinfo=dt.UTC),
            cand.location_id,
        )
    local_day = first.start.astimezone(_zone(cand.time_zone)).date()
    return (False, local_day, distance, first.start, cand.location_id)


def _label(item: Considered, now: dt.datetime) -> str:
    where = item.candidate.name
    if item.candidate.distance_miles is not None:
        where += f" ({item.candidate.distance_miles:g} mi)"
    first = item.first
    if first is None:
        return f"{where}: no free slot in the window"
    return f"{where}: first free slot {_iso(first.start)}, in {days_until(now, first.start):g} days"


def choose(
    candidates: Sequence[Candidate], book: SlotBook, win: Window, *, by_availability: bool = True
) -> Choice:
    """Rank `candidates` (the locations that may see the lead) by their earliest fitting slot.

    With `by_availability` false the first candidate is kept (the caller chose it, e.g. the
    nearest or the lead's preferred location) and only its slots are read for the offer.
    """
    considered = tuple(Considered(c, matching(book, c.location_id, win)) for c in candidates)
    if not considered:
        return Choice(None, (), "no location offers the service to this lead", True)
    no_slot = all(c.first is None for c in considered)
    if not by_availability:
        kept = considered[0]
        return Choice(
            kept.candidate.location_id, considered, "location chosen before availability", no_slot
        )
    ranked = sorted(considered, key=_rank)
    best = ranked[0]
    if best.first is None:
        return Choice(
            None, considered, "no free slot at any eligible location within the horizon", True
        )
    nearest = min(
        considered,
        key=lambda c: (
            c.candidate.distance_miles is None,
            c.candidate.distance_miles or 0.0,
            c.candidate.location_id,
        ),
    )
    reason = "earliest free slot: " + _label(best, win.now)
    if nearest is not best:
        reason += "; nearest was " + _label(nearest, win.now)
    return Choice(best.candidate.location_id, considered, reason, False)
