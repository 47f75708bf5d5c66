from __future__ import annotations

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app import idempotency
from app.auth.service import Caller
from tests.conftest import Org
from tests.intake.helpers import api_lead, person, post_lead

PROBLEM = "application/problem+json"


async def test_canonical_lead_is_normalised_and_readable(
    client: httpx.AsyncClient, org: Org
) -> None:
    r = await post_lead(client, org, api_lead())
    assert r.status_code == 201, r.text
    lead_id = r.json()["lead_id"]
    assert r.json()["resubmission"] is False
    got = (await client.get(f"/v1/leads/{lead_id}", headers=org.headers)).json()
    assert got["contact"]["phone"] == "+17735550119"
    assert got["contact"]["first_name"] == "Maria"
    assert got["location_facts"] == {
        "postal_code": "60647",
        "zip3": "606",
        "state": "IL",
        "time_zone": "America/Chicago",
        "phone_state": "IL",
    }
    assert got["attribution"]["utm_campaign"] == "spring"
    assert got["request"]["insurance"] == {"carrier": "Blue Cross Blue Shield", "plan": "PPO"}
    assert len(got["submissions"]) == 1


async def test_no_plaintext_personal_data_in_the_database(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    assert (await post_lead(client, org, api_lead())).status_code == 201
    # This organisation's rows: other tests' free text may use the same made-up names.
    dump = await session.execute(
        text(
            "SELECT l::text FROM leads l WHERE organization_id = :o"
            " UNION ALL SELECT s::text FROM lead_submissions s WHERE organization_id = :o"
            " UNION ALL SELECT a::text FROM audit_events a WHERE organization_id = :o"
        ),
        {"o": org.id},
    )
    everything = "\n".join(r[0] for r in dump)
    for secret in ("Maria", "Gonzalez", "5550119", "maria.gonzalez", "Knee pain for six"):
        assert secret not in everything


async def test_resubmission_within_window_links_to_the_first_lead(
    client: httpx.AsyncClient, org: Org
) -> None:
    first = await post_lead(client, org, api_lead())
    again = await post_lead(client, org, api_lead(external_id="other", phone="(773) 555-0119"))
    assert again.status_code == 200
    assert again.json()["resubmission"] is True
    assert again.json()["lead_id"] == first.json()["lead_id"]
    by_email = await post_lead(
        client, org, api_lead(phone=None, email="MARIA.GONZALEZ@example.com")
    )
    assert by_email.json()["lead_id"] == first.json()["lead_id"]
    got = (await client.get(f"/v1/leads/{first.json()['lead_id']}", headers=org.headers)).json()
    assert got["resubmission_count"] == 2
    assert [s["is_resubmission"] for s in got["submissions"]] == [False, True, True]
    listed = (await client.get("/v1/leads", headers=org.headers)).json()["data"]
    assert len(listed) == 1


async def test_same_person_in_another_organisation_is_a_new_lead(
    client: httpx.AsyncClient, org: Org, other_org: Org
) -> None:
    a = await post_lead(client, org, api_lead())
    b = await post_lead(client, other_org, api_lead())
    assert b.status_code == 201 and a.json()["lead_id"] != b.json()["lead_id"]
    r = await client.get(f"/v1/leads/{a.json()['lead_id']}", headers=other_org.headers)
    assert r.status_code == 404 and r.headers["content-type"] == PROBLEM


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"score": 99}, "score"),
        ({"status": "booked"}, "status"),
        ({"organization_id": "00000000-0000-0000-0000-000000000000"}, "organization_id"),
        ({"favourite_colour": "blue"}, "favourite_colour"),
        ({"phone": None, "email": None}, ""),
        ({"referral": {"npi": "1234567890"}}, "referral.npi"),
    ],
)
async def test_invalid_leads_are_422_without_echoing_values(
    client: httpx.AsyncClient, org: Org, change: dict[str, object], field: str
) -> None:
    r = await post_lead(client, org, api_lead(**change))
    assert r.status_code == 422 and r.headers["content-type"] == PROBLEM
    assert any(field in e["field"] for e in r.json()["errors"])
    assert "Gonzalez" not in r.text and "5550119" not in r.text


async def test_malformed_json_and_wrong_content_type(client: httpx.AsyncClient, org: Org) -> None:
    r = await client.post(
        "/v1/leads",
        content=b'{"first_name": ',
        headers={**org.headers, "content-type": "application/json"},
    )
    assert r.status_code == 400 and r.headers["content-type"] == PROBLEM
    r = await client.post(
        "/v1/leads",
        content=b"first_name=x",
        headers={**org.headers, "content-type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 415


async def test_idempotency_key(client: httpx.AsyncClient, org: Org) -> None:
    first = await post_lead(client, org, person(1), **{"Idempotency-Key": "abc"})
    again = await post_lead(client, org, person(1), **{"Idempotency-Key": "abc"})
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    other = await post_lead(client, org, person(2), **{"Idempotency-Key": "abc"})
    assert other.status_code == 422 and other.json()["type"].endswith("idempotency-key-reused")
    listed = (await client.get("/v1/leads", headers=org.headers)).json()["data"]
    assert len(listed) == 1


async def test_idempotency_key_in_flight_is_409(
    client: httpx.AsyncClient,
    org: Org,
    engine,  # type: ignore[no-untyped-def]
) -> None:
    from sqlalchemy.ext.asyncio import AsyncSession as S

    async with S(engine) as holder, holder.begin():
        key_id = (
            await holder.execute(
                text("SELECT id FROM api_keys WHERE organization_id = :o"), {"o": org.id}
            )
        ).scalar_one()
        caller = Caller(org.id, key_id, frozenset({"admin"}))
        assert await idempotency.lookup(holder, caller, "k1", "d") is None  # holds the key
        r = await post_lead(client, org, person(3), **{"Idempotency-Key": "k1"})
        assert r.status_code == 409
        assert r.json()["type"].endswith("idempotency-key-in-flight")


async def test_leads_list_paginates_with_a_cursor(client: httpx.AsyncClient, org: Org) -> None:
    for n in range(5):
        assert (await post_lead(client, org, person(n))).status_code == 201
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/v1/leads", params=params, headers=org.headers)).json()
        seen += [d["id"] for d in page["data"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == 5
    assert "contact" not in page["data"][0]


async def test_reading_a_lead_is_audited(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    lead_id = (await post_lead(client, org, api_lead())).json()["lead_id"]
    await client.get(f"/v1/leads/{lead_id}", headers=org.headers)
    actions = (
        await session.execute(
            text("SELECT action FROM audit_events WHERE target_id = :t ORDER BY id"), {"t": lead_id}
        )
    ).scalars()
    assert list(actions) == ["lead.create", "lead.read"]


async def test_scopes_are_enforced(client: httpx.AsyncClient, org: Org) -> None:
    r = await client.post(
        "/v1/api-keys", json={"name": "w", "scopes": ["leads:write"]}, headers=org.headers
    )
    writer = {"Authorization": f"Bearer {r.json()['key']}"}
    assert (await client.post("/v1/leads", json=person(9), headers=writer)).status_code == 201
    assert (await client.get("/v1/leads", headers=writer)).status_code == 403
