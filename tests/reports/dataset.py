"""The hand-built data set: 30 January 2026 leads (America/Chicago) whose every report figure
is worked out by hand in the tests, plus leads that must NOT count (test lead, outside the
period, another organisation).

Leads go in through `POST /v1/leads` and appointments through the appointments API; the
contact facts (first attempt, first connection, SLA) and the scoring/routing columns are set
with SQL on `leads`, as the contact-attempt endpoints would, and reach `lead_metrics` through
the triggers.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import Org
from tests.intake.helpers import person

CHICAGO = ZoneInfo("America/Chicago")
AS_OF = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
PERIOD = {"from": "2026-01-01", "to": "2026-01-31", "as_of": AS_OF.isoformat()}
T1 = uuid.UUID("00000000-0000-4000-8000-0000000000a1")
T2 = uuid.UUID("00000000-0000-4000-8000-0000000000b2")
M1 = uuid.UUID("00000000-0000-4000-8000-0000000000c1")
TEAMS = {"T1": T1, "T2": T2, None: None}

G, H, M, R = ("Google", "knee"), ("Google", "hip"), ("meta", "spring"), ("referral", None)


@dataclass(frozen=True)
class Spec:
    n: int
    source: tuple[str, str | None] | None
    qualified: bool | None
    band: str | None
    team: str | None
    attempt: int | None  # minutes after receipt
    connect: int | None
    sla: int | None  # minutes after receipt
    appts: str = ""  # one letter per appointment, see APPOINTMENTS


# Received on January n at 10:00 local (16:00Z), except lead 30: January 31 at 23:30 local,
# which is already February 1 in UTC.
LEADS = [
    Spec(1, G, True, "hot", "T1", 2, 2, 15, "F"),
    Spec(2, G, True, "hot", "T1", 4, 10, 15, "NF"),
    Spec(3, G, True, "hot", "T1", 6, 6, 15, "B"),
    Spec(4, G, True, "warm", "T1", 8, None, 15),
    Spec(5, G, False, "warm", "T1", 30, 45, 15),
    Spec(6, G, True, "cold", "T2", None, None, 15),
    Spec(7, H, True, "hot", "T2", 1, 1, 15, "F"),
    Spec(8, H, True, "warm", "T2", 3, 20, 15, "C"),
    Spec(9, H, True, "warm", "T2", 5, 5, 15, "P"),
    Spec(10, H, False, "cold", "T2", 12, None, 15),
    Spec(11, M, True, "hot", "T1", 20, 20, 60, "F"),
    Spec(12, M, True, "warm", "T1", 40, 90, 60, "N"),
    Spec(13, M, True, "warm", "T1", 60, None, 60),
    Spec(14, M, False, "cold", "T1", 90, None, 60),
    Spec(15, M, True, "cold", "T2", 120, 120, 60, "E"),
    Spec(16, M, True, "cold", "T2", None, None, None),
    Spec(17, M, True, "hot", "T2", 10, 10, None, "F"),
    Spec(18, R, True, "hot", "T1", 0, 0, 15, "F"),
    Spec(19, R, True, "warm", "T1", 15, 15, 15, "B"),
    Spec(20, R, None, None, None, None, None, None),
    Spec(21, R, True, "warm", "T2", 7, None, 15),
    Spec(22, G, True, "hot", "T2", 3, 3, 15, "F"),
    Spec(23, H, True, "warm", "T1", 25, 25, 15, "N"),
    Spec(24, M, False, "cold", "T1", None, None, 60),
    Spec(25, M, True, "hot", "T2", 2, 4, 60, "CF"),
    Spec(26, G, True, "cold", "T1", 45, None, 15),
    Spec(27, H, True, "warm", "T2", 5, 5, 15, "B"),
    Spec(28, None, None, None, None, None, None, None),
    Spec(29, R, True, "cold", "T1", 300, 300, 60),
    Spec(30, G, True, "hot", "T1", 3, 3, 15, "F"),
]
EMERGENCIES = {21, 22}
BREACHED = {5, 6, 14, 15, 23, 24, 26, 29}
ESCALATIONS = {6: 2, 24: 1, 29: 1}
MEMBER_M1 = {1, 2}
RESUBMIT = [1, 1, 11]
SCORES = {"hot": 80, "warm": 55, "cold": 20}
URGENCY_POINTS = {"hot": 15, "warm": 5, "cold": 0}


def _at(month: int, day: int, hour: int = 10, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=CHICAGO)


def received(spec: Spec) -> dt.datetime:
    return _at(1, 31, 23, 30) if spec.n == 30 else _at(1, spec.n)


FEB = dt.datetime(2026, 2, 1, 15, tzinfo=dt.UTC)
# letter -> (status at creation, status after a PATCH or None, start)
APPOINTMENTS: dict[str, tuple[str, str | None, dt.datetime | None]] = {
    "F": ("fulfilled", None, FEB + dt.timedelta(days=9)),  # visit Feb 10: completed
    "N": ("booked", "noshow", FEB + dt.timedelta(days=4)),  # Feb 5, then marked no-show
    "B": ("booked", None, dt.datetime(2026, 3, 10, 15, tzinfo=dt.UTC)),  # after as_of
    "P": ("booked", None, FEB + dt.timedelta(days=19)),  # Feb 20, passed, no outcome sent
    "C": ("cancelled", None, None),
    "E": ("booked", "entered-in-error", FEB + dt.timedelta(days=11)),
}


def _body(spec: Spec, **extra: Any) -> dict[str, Any]:
    attribution: dict[str, Any] = {}
    if spec.source is not None:
        attribution["source"] = spec.source[0]
        if spec.source[1]:
            attribution["campaign"] = spec.source[1]
    return person(9000 + spec.n, attribution=attribution, **extra)


async def post(client: httpx.AsyncClient, org: Org, body: dict[str, Any]) -> uuid.UUID:
    r = await client.post("/v1/leads", json=body, headers=org.headers)
    assert r.status_code in (200, 201), r.text
    return uuid.UUID(r.json()["lead_id"])


def _facts(spec: Spec, at: dt.datetime) -> dict[str, Any]:
    def after(minutes: int | None) -> dt.datetime | None:
        return None if minutes is None else at + dt.timedelta(minutes=minutes)

    breakdown = (
        [
            {"factor": "urgency", "points": URGENCY_POINTS[spec.band], "max_points": 15},
            {"factor": "consent", "points": 5, "max_points": 5},
        ]
        if spec.band
        else []
    )
    score = None if spec.band is None else (90 if spec.n == 30 else SCORES[spec.band])
    return {
        "received_at": at,
        "qualified": spec.qualified,
        "emergency": spec.n in EMERGENCIES,
        "score": score,
        "band": spec.band,
        "team": TEAMS[spec.team],
        "member": M1 if spec.n in MEMBER_M1 else None,
        "attempt": after(spec.attempt),
        "connect": after(spec.connect),
        "sla": after(spec.sla),
        "breached": after(spec.sla) if spec.n in BREACHED else None,
        "escalations": ESCALATIONS.get(spec.n, 0),
        "assessment": json.dumps({"score_breakdown": breakdown} if breakdown else {}),
    }


SET_FACTS = text(
    """
    UPDATE leads SET received_at = :received_at, qualified = :qualified,
        emergency = :emergency, score = :score, score_band = :band, team_id = :team,
        member_id = :member, first_attempt_at = :attempt, first_connected_at = :connect,
        sla_due_at = :sla, sla_breached_at = :breached, escalation_count = :escalations,
        assessment = CAST(:assessment AS jsonb)
    WHERE id = :id
    """
)


async def appointments(
    client: httpx.AsyncClient, org: Org, lead_id: uuid.UUID, codes: str, tag: str
) -> None:
    for i, code in enumerate(codes):
        status, later, start = APPOINTMENTS[code]
        body: dict[str, Any] = {"status": status, "external_id": f"{tag}-{i}"}
        if start is not None:
            body |= {
                "start": start.isoformat(),
                "end": (start + dt.timedelta(minutes=30)).isoformat(),
            }
        r = await client.post(f"/v1/leads/{lead_id}/appointments", json=body, headers=org.headers)
        assert r.status_code == 201, r.text
        if later is not None:
            url = f"/v1/appointments/{r.json()['id']}"
            r = await client.patch(url, json={"status": later}, headers=org.headers)
            assert r.status_code == 200, r.text


async def seed(client: httpx.AsyncClient, session: AsyncSession, org: Org) -> dict[int, uuid.UUID]:
    ids: dict[int, uuid.UUID] = {}
    for spec in LEADS:
        ids[spec.n] = await post(client, org, _body(spec))
    for n in RESUBMIT:
        await post(client, org, _body(LEADS[n - 1]))
    for spec in LEADS:
        await session.execute(SET_FACTS, {"id": ids[spec.n], **_facts(spec, received(spec))})
    # Committed before the appointment requests, which lock these lead rows.
    await session.commit()
    for spec in LEADS:
        await appointments(client, org, ids[spec.n], spec.appts, f"L{spec.n}")
    return ids


# Leads that must not count in January: a test lead, one a minute before the period and one
# at the first local instant after it (February 1 00:00 Chicago).
OUTSIDE = {
    "test": _at(1, 15),
    "before": _at(12, 31, 23, 59).replace(year=2025),
    "after": _at(2, 1, 0, 0),
}


async def seed_outside(client: httpx.AsyncClient, session: AsyncSession, org: Org) -> None:
    for i, (name, at) in enumerate(OUTSIDE.items()):
        spec = Spec(100 + i, G, True, "hot", "T1", 1, 1, 15, "F")
        body = _body(spec, is_test=True) if name == "test" else _body(spec)
        lead_id = await post(client, org, body)
        await session.execute(SET_FACTS, {"id": lead_id, **_facts(spec, at)})
        await session.commit()
        await appointments(client, org, lead_id, "F", f"X{i}")
