"""Concurrent versioned changes to one appointment: the newest wins, every time.

Real commits on separate connections: each request waits for the row lock, and must then
compare against the row as committed, not as it was read before the lock was granted.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

import httpx
import pytest

from tests.appointments.test_api import FHIR, appointment, new_lead, post_fhir
from tests.conftest import Org

CHANGES = 20
ROUNDS = 3


async def _patch(client: httpx.AsyncClient, org: Org, appt_id: str, v: int) -> httpx.Response:
    return await client.patch(
        f"/v1/appointments/{appt_id}",
        json={"version": str(v), "provider": f"dr-{v}"},
        headers=org.headers,
    )


def _put_of(external: str) -> Any:
    async def put(client: httpx.AsyncClient, org: Org, appt_id: str, v: int) -> httpx.Response:
        body: dict[str, Any] = appointment(external, "booked", str(v))
        body["participant"] = [
            {"actor": {"reference": f"Practitioner/dr-{v}"}, "status": "accepted"}
        ]
        return await client.put(
            f"/v1/fhir/Appointment/{appt_id}", json=body, headers={**org.headers, **FHIR}
        )

    return put


@pytest.mark.parametrize("how", ["patch", "fhir-put"])
async def test_twenty_concurrent_versions_the_newest_wins(
    client: httpx.AsyncClient, org: Org, how: str
) -> None:
    for round_ in range(ROUNDS):
        lead_id = await new_lead(client, org, 100 + round_)
        r = await post_fhir(client, org, lead_id, appointment(f"A-9-{round_}", "booked", "1"))
        assert r.status_code == 201, r.text
        appt_id = r.json()["id"]
        sender = _patch if how == "patch" else _put_of(f"A-9-{round_}")
        versions = list(range(2, 2 + CHANGES))
        random.shuffle(versions)
        answers = await asyncio.gather(*(sender(client, org, appt_id, v) for v in versions))
        outcomes = {}
        for v, a in zip(versions, answers, strict=True):
            assert a.status_code == 200, a.text
            outcomes[v] = a.headers["Appointment-Outcome"]
        newest = 1 + CHANGES
        assert outcomes[newest] == "updated", outcomes
        assert set(outcomes.values()) <= {"updated", "ignored_older"}, outcomes
        r = await client.get(f"/v1/appointments/{appt_id}", headers=org.headers)
        final = r.json()
        assert final["source_version"] == str(newest), (round_, final)
        assert final["provider"].endswith(f"dr-{newest}")
        # Every answer of "updated" was applied, in order: one version bump each.
        applied = sum(1 for o in outcomes.values() if o == "updated")
        assert final["version"] == 1 + applied, (final["version"], outcomes)
