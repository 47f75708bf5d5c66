"""The pure availability core, table-driven: which slots fit, and which location wins."""

from __future__ import annotations

import datetime as dt

import pytest

from app.availability import core
from app.availability.core import Candidate, FreeSlot, SlotBook

NOW = dt.datetime(2026, 3, 2, 14, 0, tzinfo=dt.UTC)  # Monday 08:00 in Chicago


def at(days: float, hours: float = 0) -> dt.datetime:
    return NOW + dt.timedelta(days=days, hours=hours)


def free(sid: str, loc: str, start: dt.datetime, kind: str | None = None) -> FreeSlot:
    return FreeSlot(sid, start, start + dt.timedelta(minutes=30), loc, "sleep", None, kind)


BOOK = SlotBook.build(
    "sleep",
    [
        free("n-30", "near", at(30)),
        free("f-1b", "far", at(1, 2)),
        free("f-1a", "far", at(1), "NEW"),
        free("f-2", "far", at(2)),
        free("f-3", "far", at(3), "NEW"),
        free("f-past", "far", at(-1)),
        free("m-1", "mid", at(1, 6)),  # same Chicago day as far's first
    ],
)
NEAR = Candidate("near", "Near", 2.0, "America/Chicago")
MID = Candidate("mid", "Mid", 5.0, "America/Chicago")
FAR = Candidate("far", "Far", 9.0, "America/Chicago")


@pytest.mark.parametrize(
    ("location", "types", "horizon", "expected"),
    [
        ("far", None, 21, ["f-1a", "f-1b", "f-2"]),  # earliest first, past ones skipped
        ("far", frozenset({"NEW"}), 21, ["f-1a", "f-3"]),  # new-patient types only
        ("far", None, 1, []),  # nothing starts within a day
        ("near", None, 21, []),  # 30 days out: beyond the horizon
        ("near", None, 31, ["n-30"]),
        ("nowhere", None, 21, []),
    ],
)
def test_matching_slots(
    location: str, types: frozenset[str] | None, horizon: int, expected: list[str]
) -> None:
    win = core.Window(NOW, NOW + dt.timedelta(days=horizon), types)
    assert [s.id for s in core.matching(BOOK, location, win)] == expected


@pytest.mark.parametrize(
    ("candidates", "horizon", "winner", "no_availability"),
    [
        ([NEAR, FAR], 21, "far", False),  # a slot tomorrow beats none nearby
        ([NEAR, MID, FAR], 21, "mid", False),  # same local day: the nearer wins
        ([NEAR], 21, None, True),  # nothing within the horizon
        ([NEAR, FAR], 40, "far", False),
        ([], 21, None, True),
    ],
)
def test_choose_ranks_by_local_day_then_distance(
    candidates: list[Candidate], horizon: int, winner: str | None, no_availability: bool
) -> None:
    choice = core.choose(candidates, BOOK, core.Window(NOW, NOW + dt.timedelta(days=horizon)))
    assert (choice.location_id, choice.no_availability) == (winner, no_availability)
    if winner:
        assert choice.offered[0].location_id == winner
        assert choice.reason.startswith("earliest free slot: ")


def test_a_kept_location_reads_its_own_slots_only() -> None:
    win = core.Window(NOW, NOW + dt.timedelta(days=21))
    kept = core.choose([NEAR, FAR], BOOK, win, by_availability=False)
    assert kept.location_id == "near" and kept.offered == () and not kept.no_availability


@pytest.mark.parametrize(
    ("types", "new_patient", "expected"),
    [(("NEW",), True, frozenset({"NEW"})), (("NEW",), None, frozenset({"NEW"})),
     (("NEW",), False, None), ((), True, None)],
)  # fmt: skip
def test_window_restricts_new_patients_to_new_patient_types(
    types: tuple[str, ...], new_patient: bool | None, expected: frozenset[str] | None
) -> None:
    assert core.window(NOW, 21, types, new_patient).types == expected
