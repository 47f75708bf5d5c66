"""What the pages show, against the API: review figures, the queue, the lead page's forms."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import Org
from tests.console.helpers import csrf_of, post_leads, seed_practice, sign_in


@pytest.fixture
async def console(client: httpx.AsyncClient) -> httpx.AsyncClient:
    client.base_url = httpx.URL("https://testserver")
    return client


def cell(page: str, report: str, key: str, field: str) -> str:
    table = page[page.index(f'data-report="{report}"') :]
    row = table[table.index(f'data-key="{key}"') :]
    found = re.search(rf'data-field="{field}">([^<]*)<', row)
    assert found, (report, key, field)
    return found.group(1).strip()


async def test_review_figures_equal_the_api_and_the_csv_is_the_apis(
    console: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    await seed_practice(session, org)
    await post_leads(console, org, 4)
    await sign_in(console, org.admin_key)
    page = await console.get("/console", params={"group_by": "service"})
    assert page.status_code == 200, page.text[:2000]
    first, last = re.search(
        r'name="from" value="([^"]+)".*?name="to" value="([^"]+)"', page.text, re.S
    ).groups()
    params = {"from": first, "to": last, "group_by": "service"}
    api = (await console.get("/v1/reports/funnel", params=params, headers=org.headers)).json()
    assert api["total"]["leads"] == 4
    for row in [*api["rows"], {**api["total"], "key": "total"}]:
        key = row["key"] if row["key"] is not None else ""
        assert cell(page.text, "funnel", key, "leads") == f"{row['leads']:,}"
        assert cell(page.text, "funnel", key, "no_shows") == f"{row['no_shows']:,}"
    csv_page = await console.get("/console/csv/funnel.csv", params=params)
    csv_api = await console.get(
        "/v1/reports/funnel", params=params, headers={**org.headers, "Accept": "text/csv"}
    )
    assert csv_page.status_code == 200 and csv_page.text == csv_api.text
    assert "attachment" in csv_page.headers["content-disposition"]
    for section in ("trend", "speed", "drop-off", "calibration", "factors"):
        part = await console.get(f"/console/review/{section}", params=params)
        assert part.status_code == 200, section
        fragment = await console.get(
            f"/console/review/{section}", params=params, headers={"HX-Request": "true"}
        )
        assert "<html" not in fragment.text
        assert "<h2" in fragment.text or 'data-report="calibration-factors"' in fragment.text
    api_factors = await console.get(
        "/v1/reports/score-calibration", params=params, headers=org.headers
    )
    factors = await console.get("/console/review/factors", params=params)
    rows = factors.text.count('<tr><th scope="row">')
    assert rows == len(api_factors.json()["by_factor"]) > 0


async def test_an_empty_period_says_what_to_do(console: httpx.AsyncClient, org: Org) -> None:
    await sign_in(console, org.admin_key)
    page = await console.get("/console", params={"from": "2020-01-01", "to": "2020-01-07"})
    assert "No leads were received in this period" in page.text
    assert "POST /v1/spend" in page.text
    bad = await console.get("/console", params={"from": "2020-02-01", "to": "2020-01-07"})
    assert bad.status_code == 422 and "<html" in bad.text


async def test_queue_claim_attempts_and_appointments(
    console: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    await seed_practice(session, org)
    ids = await post_leads(console, org, 3)
    # Received two days ago, so attempts can be recorded at chosen local times since.
    await session.execute(
        text("UPDATE leads SET received_at = received_at - interval '2 days' WHERE id = ANY(:ids)"),
        {"ids": ids},
    )
    await session.commit()
    await sign_in(console, org.admin_key)
    queue = await console.get("/console/queue", params={"status": "all"})
    assert queue.status_code == 200
    api = (await console.get("/v1/handoffs", params={"status": "all"}, headers=org.headers)).json()
    order = re.findall(r'data-lead="([0-9a-f-]+)"', queue.text)
    assert order == [item["lead_id"] for item in api["data"]]

    lead_id = order[0]
    lead = (await console.get(f"/v1/leads/{lead_id}", headers=org.headers)).json()
    team = lead["routing"]["team_id"]
    members = (await console.get(f"/v1/teams/{team}/members", headers=org.headers)).json()
    active = next(m for m in members["data"] if m["status"] == "active")
    token = csrf_of(queue)
    chosen = await console.post(
        "/console/queue/me", data={"csrf_token": token, "member_id": active["id"]}
    )
    assert chosen.status_code == 303
    away = await console.post("/console/queue/status", data={"csrf_token": token, "status": "away"})
    assert away.status_code == 303
    member = (await console.get(f"/v1/members/{active['id']}", headers=org.headers)).json()
    assert member["status"] == "away"
    await console.post("/console/queue/status", data={"csrf_token": token, "status": "active"})

    zone = ZoneInfo(lead["location_facts"]["time_zone"] or "America/Chicago")
    yesterday = (dt.datetime.now(zone) - dt.timedelta(days=1)).date()
    night = dt.datetime.combine(yesterday, dt.time(23, 30)).isoformat(timespec="minutes")
    refused = await console.post(
        f"/console/leads/{lead_id}/attempts",
        data={"csrf_token": token, "channel": "voice", "outcome": "no_answer", "started_at": night},
    )
    assert refused.status_code == 422
    assert "calling hours" in refused.text.lower()
    noon = dt.datetime.combine(yesterday, dt.time(12, 0)).isoformat(timespec="minutes")
    recorded = await console.post(
        f"/console/leads/{lead_id}/attempts",
        data={"csrf_token": token, "channel": "voice", "outcome": "connected", "started_at": noon},
    )
    assert recorded.status_code == 303, recorded.text[:3000]
    attempts = (
        await console.get(f"/v1/leads/{lead_id}/contact-attempts", headers=org.headers)
    ).json()
    assert [a["outcome"] for a in attempts["data"]] == ["connected"]

    start = (dt.datetime.now(zone) + dt.timedelta(days=3)).replace(hour=10, minute=0)
    booked = await console.post(
        f"/console/leads/{lead_id}/appointments",
        data={"csrf_token": token, "status": "booked", "start": start.strftime("%Y-%m-%dT%H:%M")},
    )
    assert booked.status_code == 303
    appts = (await console.get(f"/v1/leads/{lead_id}/appointments", headers=org.headers)).json()
    assert [a["status"] for a in appts["data"]] == ["booked"]
    page = await console.get(f"/console/leads/{lead_id}")
    assert "booked" in page.text and "Record outcome" in page.text
    # the trace in words reads the rules the decision tried
    [matched] = [r for r in lead["routing"]["trace"]["rules"] if r["matched"]]
    assert f"Rule “{matched['name']}” matched" in page.text
    assert len(page.content) < 200_000

    claim = await console.post("/console/queue/claim", data={"csrf_token": token})
    assert claim.status_code == 303
    assert claim.headers["location"].startswith(("/console/leads/", "/console/queue?notice"))


async def test_practice_page_reads_in_words(
    console: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    await seed_practice(session, org)
    await sign_in(console, org.admin_key)
    page = await console.get("/console/practice")
    assert page.status_code == 200
    assert "Urgent nurse line" in page.text and "urgency is urgent" in page.text
    assert "Mon 08:00" in page.text
