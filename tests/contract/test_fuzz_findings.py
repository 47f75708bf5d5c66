"""Causes that generated requests (tests/contract/test_schemathesis.py, bench/fuzz.py) found,
each answered as the problem it is through HTTP."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.appointments.test_api import FHIR, appointment, new_lead, post_fhir
from tests.conftest import Org


def _outcome_fields(r: httpx.Response) -> set[str]:
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/fhir+json")
    body = r.json()
    assert body["resourceType"] == "OperationOutcome"
    return {e for issue in body["issue"] for e in issue.get("expression", [])}


def _slot(**changes: Any) -> dict[str, Any]:
    return {
        "resourceType": "Slot",
        "schedule": {"reference": "Schedule/s-1"},
        "status": "free",
        "start": "2030-01-07T15:00:00Z",
        "end": "2030-01-07T15:30:00Z",
        **changes,
    }


# Texts that look like instants but are none, or are far outside a schedule's years.
NOT_INSTANTS = ["0000-00-00T00:00:00Z", "2030-02-30T10:00:00Z", "5664-10-06T08:53:59Z"]


@pytest.mark.parametrize("bad", NOT_INSTANTS)
async def test_a_slot_time_that_is_no_instant_is_an_operation_outcome(
    client: httpx.AsyncClient, org: Org, bad: str
) -> None:
    r = await client.put(
        "/v1/fhir/Slot/t-1", json=_slot(start=bad), headers={**org.headers, **FHIR}
    )
    assert any("start" in e for e in _outcome_fields(r)), r.text


@pytest.mark.parametrize("status", [{"code": "free"}, ["free"], 3])
async def test_a_slot_status_that_is_no_code_is_an_operation_outcome(
    client: httpx.AsyncClient, org: Org, status: Any
) -> None:
    r = await client.put(
        "/v1/fhir/Slot/t-1", json=_slot(status=status), headers={**org.headers, **FHIR}
    )
    assert any("status" in e for e in _outcome_fields(r)), r.text


async def test_fhir_appointment_times_and_participant_statuses_are_checked(
    client: httpx.AsyncClient, org: Org
) -> None:
    lead_id = await new_lead(client, org, 7301)
    for bad in NOT_INSTANTS:
        r = await post_fhir(client, org, lead_id, appointment("F-1", "booked", "1", start=bad))
        assert r.status_code == 422, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert "start" in {e["field"] for e in r.json()["errors"]}
    body = appointment("F-1", "booked", "1")
    body["participant"] = [{"actor": {"reference": "Practitioner/1"}, "status": {"x": 1}}]
    r = await post_fhir(client, org, lead_id, body)
    assert r.status_code == 422, r.text
    assert "participant[0].status" in {e["field"] for e in r.json()["errors"]}
