"""What happened to one demo lead after intake decided it: calls, booking, visits.

Pure: the lead's own random stream, the decisions scoring and routing made, and `now`.
Rates and their sources are in app/demo/history.py. Nothing is dated after `now`, except
appointments still to come.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

# Outbound calls go out in these local hours (the practice's dialing window, inside the
# contact policy's calling hours): weekdays 8:00-19:00, Saturday 9:00-13:00.
CALL_WINDOWS = {d: (8, 19) for d in range(1, 6)} | {6: (9, 13)}
FAILED = ("no_answer", "left_voicemail", "no_answer", "left_voicemail", "busy")
BOOK_RATE = {"hot": 0.62, "warm": 0.45, "cold": 0.25}
MAX_TRIES = 6
NURTURE_AFTER = dt.timedelta(days=14)


@dataclass(frozen=True)
class Decided:
    """What intake decided, as the journey needs it."""

    qualified: bool | None
    band: str | None
    urgent: bool  # urgent or emergency
    callback_at: dt.datetime | None  # the team was closed: its next opening
    nurture: bool  # routed to the nurture queue
    inbound_call: bool  # a call-tracking lead: the person called us


@dataclass
class Journey:
    attempts: list[tuple[dt.datetime, str, str]] = field(default_factory=list)
    appointments: list[tuple[dt.datetime, dt.datetime, str]] = field(default_factory=list)
    declined_at: dt.datetime | None = None  # asked not to be contacted: every channel
    stop_at: dt.datetime | None = None  # replied STOP to a text: SMS only
    nurture_at: dt.datetime | None = None  # reached, nothing booked: moved to nurture

    @property
    def first_attempt_at(self) -> dt.datetime | None:
        return self.attempts[0][0] if self.attempts else None

    @property
    def first_connected_at(self) -> dt.datetime | None:
        return next((at for at, outcome, _ in self.attempts if outcome == "connected"), None)


def in_window(at: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    """`at`, or the start of the next dialing window after it."""
    local = at.astimezone(zone)
    for _ in range(8):
        window = CALL_WINDOWS.get(local.isoweekday())
        if window is not None:
            start = local.replace(hour=window[0], minute=0, second=0, microsecond=0)
            end = local.replace(hour=window[1], minute=0, second=0, microsecond=0)
            if local < start:
                return start.astimezone(dt.UTC)
            if local < end:
                return local.astimezone(dt.UTC)
        nxt = (local + dt.timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
        local = nxt
    return at


def _first_delay(rng: random.Random, d: Decided) -> dt.timedelta:
    """Receipt (or the team's opening) to the first call: log-normal, median ~6 minutes in
    opening hours, faster for urgent requests, slower for the nurture queue."""
    if d.nurture:
        return dt.timedelta(hours=rng.lognormvariate(3.0, 0.8))
    median_minutes = 3.0 if d.urgent else 6.0
    backlog = 25.0 if d.callback_at is not None else 0.0
    minutes = rng.lognormvariate(0, 1.3) * median_minutes + backlog * rng.random()
    return dt.timedelta(minutes=minutes)


def _book(
    rng: random.Random, j: Journey, reached: dt.datetime, zone: ZoneInfo, now: dt.datetime
) -> None:
    created = reached + dt.timedelta(minutes=rng.uniform(2, 12))
    for _ in range(3):
        days = max(1, round(rng.lognormvariate(1.8, 0.6)))
        day = (created.astimezone(zone) + dt.timedelta(days=days)).date()
        while day.isoweekday() >= 6:
            day += dt.timedelta(days=1)
        start_local = dt.datetime.combine(day, dt.time(8 + rng.randrange(9), rng.choice([0, 30])))
        start = start_local.replace(tzinfo=zone).astimezone(dt.UTC)
        if start >= now:
            status = "cancelled" if rng.random() < 0.05 else "booked"
        else:
            roll = rng.random()
            status = "fulfilled" if roll < 0.72 else "noshow" if roll < 0.89 else "cancelled"
        j.appointments.append((min(created, now), start, status))
        if status in ("fulfilled", "booked") or rng.random() > 0.33:
            return
        # Booked again a day or two after the missed or cancelled visit.
        created = min(start, now) + dt.timedelta(days=rng.uniform(0.5, 2))
        if created >= now:
            return


def journey(
    rng: random.Random,
    received: dt.datetime,
    d: Decided,
    zone: ZoneInfo,
    now: dt.datetime,
) -> Journey:
    j = Journey()
    never = 0.05 if d.qualified else 0.3
    if d.inbound_call and d.callback_at is None and rng.random() < 0.65:
        # Answered live: the call itself reached the person.
        j.attempts.append((received, "connected", "inbound"))
    elif rng.random() < never:
        return j
    else:
        start = d.callback_at or received
        at = in_window(start + _first_delay(rng, d), zone)
        connect = 0.45
        for _ in range(MAX_TRIES):
            if at >= now:
                break
            if rng.random() < connect:
                j.attempts.append((at, "connected", "outbound"))
                break
            outcome = rng.choice(FAILED) if rng.random() > 0.02 else "wrong_number"
            j.attempts.append((at, outcome, "outbound"))
            if outcome == "wrong_number":
                return j
            connect = 0.3
            at = in_window(at + dt.timedelta(hours=rng.choice([2, 4, 20, 26, 44])), zone)
    reached = j.first_connected_at
    if reached is None:
        return j
    if rng.random() < 0.02:
        j.declined_at = reached  # "please don't call me again": the call's outcome says so
        j.attempts[-1] = (reached, "do_not_contact_requested", j.attempts[-1][2])
        return j
    rate = BOOK_RATE.get(d.band or "", 0.3) if d.qualified else 0.05
    if rng.random() < rate:
        _book(rng, j, reached, zone, now)
    elif reached + NURTURE_AFTER < now and not d.nurture:
        j.nurture_at = reached + NURTURE_AFTER
    if rng.random() < 0.01 and reached + dt.timedelta(days=1) < now:
        j.stop_at = reached + dt.timedelta(hours=rng.uniform(1, 20))
    return j
