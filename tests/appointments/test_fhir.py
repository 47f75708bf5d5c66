"""FHIR R4 Appointment parsing, invariants, transitions and ordering (no database)."""

from __future__ import annotations

import copy
import datetime as dt
import uuid
from typing import Any

import pytest

from app.appointments import core, fhir, transitions
from app.appointments.models import Appointment

BOOKED: dict[str, Any] = {
    "resourceType": "Appointment",
    "id": "sched-991",
    "meta": {"versionId": "3", "lastUpdated": "2026-03-02T10:00:00Z"},
    "identifier": [{"system": "https://sched.example/appt", "value": "A-100"}],
    "status": "booked",
    "serviceType": [{"coding": [{"code": "ortho-knee"}], "text": "Knee consult"}],
    "start": "2026-03-10T14:00:00-06:00",
    "end": "2026-03-10T14:30:00-06:00",
    "participant": [
        {"actor": {"reference": "Patient/p1"}, "status": "accepted"},
        {"actor": {"reference": "Practitioner/dr-7"}, "status": "accepted"},
        {"actor": {"reference": "Location/loop"}, "status": "accepted"},
    ],
}


def resource(**changes: Any) -> dict[str, Any]:
    r = copy.deepcopy(BOOKED)
    for k, v in changes.items():
        if v is None:
            r.pop(k, None)
        else:
            r[k] = v
    return r


def test_parses_the_fields_we_keep() -> None:
    data = fhir.parse(BOOKED)
    assert data.status == "booked" and data.external_id == "A-100"
    assert data.location == "Location/loop" and data.provider == "Practitioner/dr-7"
    assert data.service == "ortho-knee" and data.source_version == "3"
    assert data.start == dt.datetime(2026, 3, 10, 20, 0, tzinfo=dt.UTC)
    assert data.source_updated_at == dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)


def test_r5_spelling_of_the_cancellation_reason_is_accepted() -> None:
    data = fhir.parse(
        resource(status="cancelled", cancellationReason={"coding": [{"code": "pat"}]})
    )
    assert data.cancellation_reason == "pat"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"resourceType": "Patient"}, None),
        ({"status": "done"}, "status"),
        ({"status": None}, "status"),
        ({"end": None}, "start"),  # app-2
        ({"start": None, "end": None}, "start"),  # app-3: booked needs times
        ({"cancelationReason": {"coding": [{"code": "pat"}]}}, "cancellation_reason"),  # app-4
        ({"start": "2026-03-10T14:00:00"}, "start"),  # an instant needs a zone
        ({"start": "2026-03-10"}, "start"),
        ({"end": "2026-03-10T13:00:00-06:00"}, "end"),
        ({"participant": []}, "participant"),
        ({"participant": [{"actor": {"reference": "Patient/p1"}}]}, "participant[0].status"),
        ({"participant": [{"status": "accepted"}]}, "participant[0]"),
        ({"meta": {"lastUpdated": "yesterday"}}, "meta.lastUpdated"),
    ],
)
def test_invalid_resources_are_422_with_field_pointers(
    changes: dict[str, Any], field: str | None
) -> None:
    with pytest.raises(fhir.FhirError) as caught:
        fhir.parse(resource(**changes))
    assert caught.value.status == 422
    if field is not None:
        assert field in [e["field"] for e in caught.value.extra["errors"]]


def test_proposed_and_cancelled_may_lack_times() -> None:
    for status in ("proposed", "cancelled", "waitlist"):
        assert fhir.parse(resource(status=status, start=None, end=None)).start is None


def test_errors_never_echo_values() -> None:
    with pytest.raises(fhir.FhirError) as caught:
        fhir.parse(resource(start="Maria Gonzalez 773-555-0119"))
    assert "Maria" not in str(caught.value.extra) and "555" not in str(caught.value.detail)


def test_serialises_back_to_a_valid_resource() -> None:
    appt = Appointment(
        id=uuid.uuid4(),
        lead_id=uuid.uuid4(),
        version=2,
        updated_at=dt.datetime(2026, 3, 2, tzinfo=dt.UTC),
        **{k: getattr(fhir.parse(BOOKED), k) for k in core.FIELDS},
        source_version="3",
        source_updated_at=None,
    )
    out = fhir.to_fhir(appt)
    assert out["meta"]["versionId"] == "3" and out["start"] == "2026-03-10T20:00:00Z"
    again = fhir.parse(out, use_id_as_external=False)
    assert again.status == "booked" and again.external_id == "A-100"
    assert again.location == "Location/loop" and again.provider == "Practitioner/dr-7"


@pytest.mark.parametrize(
    ("current", "new", "ok"),
    [
        ("proposed", "booked", True),
        ("pending", "booked", True),
        ("booked", "arrived", True),
        ("booked", "noshow", True),
        ("booked", "cancelled", True),
        ("arrived", "fulfilled", True),
        ("checked-in", "fulfilled", True),
        ("booked", "booked", True),
        ("fulfilled", "booked", False),
        ("noshow", "booked", False),
        ("noshow", "fulfilled", False),
        ("cancelled", "booked", False),
        ("fulfilled", "entered-in-error", True),
        ("entered-in-error", "booked", False),
        ("booked", "proposed", False),
    ],
)
def test_transitions(current: str, new: str, ok: bool) -> None:
    assert transitions.allowed(current, new) is ok


def test_every_status_has_a_row() -> None:
    assert set(transitions._ALLOWED) == set(transitions.STATUSES)


T0 = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("stored", "incoming", "order"),
    [
        (("3", None), ("2", None), "older"),
        (("3", None), ("3", None), "same"),
        (("3", None), ("10", None), "newer"),  # numeric, not lexical
        ((None, T0), (None, T0 - dt.timedelta(seconds=1)), "older"),
        ((None, T0), (None, T0), "same"),
        (("a", T0), ("b", T0 + dt.timedelta(hours=1)), "newer"),  # opaque ids: use time
        (("etag-1", None), ("etag-1", None), "same"),
        ((None, None), (None, None), "newer"),
    ],
)
def test_ordering(
    stored: tuple[str | None, dt.datetime | None],
    incoming: tuple[str | None, dt.datetime | None],
    order: str,
) -> None:
    assert core.compare(*stored, *incoming) == order


def test_summary_prefers_a_fulfilled_visit_and_remembers_no_shows() -> None:
    assert core.summarize(["noshow", "fulfilled"]) == ("fulfilled", True)
    assert core.summarize(["fulfilled", "booked"]) == ("fulfilled", False)
    assert core.summarize(["noshow", "booked"]) == ("booked", True)
    assert core.summarize(["booked", "entered-in-error"]) == ("booked", False)
    assert core.summarize(["entered-in-error"]) == (None, False)
    assert core.summarize([]) == (None, False)
