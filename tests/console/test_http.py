"""The console over HTTP: sign-in, sessions, CSRF, scopes, headers, error pages, audit."""

from __future__ import annotations

import datetime as dt
import re

import httpx
import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.models import AuditEvent
from tests.conftest import Org
from tests.console.helpers import csrf_of, key, post_leads, seed_practice, sign_in


@pytest.fixture
async def console(client: httpx.AsyncClient) -> httpx.AsyncClient:
    # The session cookie is `Secure` outside development: the client must speak https.
    client.base_url = httpx.URL("https://testserver")
    return client


def assert_page_headers(answer: httpx.Response) -> None:
    csp = answer.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert answer.headers["referrer-policy"] == "no-referrer"
    assert answer.headers["cache-control"] == "no-store"


async def test_sign_in_sets_a_hardened_session_cookie(console: httpx.AsyncClient, org: Org) -> None:
    form = await console.get("/console/login")
    assert form.status_code == 200 and 'name="api_key"' in form.text
    assert_page_headers(form)
    answer = await sign_in(console, org.admin_key)
    assert answer.status_code == 303 and answer.headers["location"] == "/console"
    cookie = next(c for c in answer.headers.get_list("set-cookie") if c.startswith("lr_console="))
    attributes = {a.strip().lower() for a in cookie.split(";")[1:]}
    assert {"httponly", "secure", "samesite=lax", "path=/console"} <= attributes
    # The key is in the form body only; the cookie is a signed session id, not the key.
    assert org.admin_key not in cookie
    assert (await console.get("/console/practice")).status_code == 200


async def test_a_wrong_key_or_a_missing_token_does_not_sign_in(
    console: httpx.AsyncClient, org: Org
) -> None:
    wrong = await sign_in(console, "lr_not-a-key")
    assert wrong.status_code == 401 and "not valid" in wrong.text
    no_token = await console.post("/console/login", data={"api_key": org.admin_key})
    assert no_token.status_code == 403
    assert no_token.headers["content-type"].startswith("text/html")
    assert "security token" in no_token.text


async def test_pages_need_a_sign_in(console: httpx.AsyncClient) -> None:
    for path in ("/console", "/console/queue", "/console/practice"):
        answer = await console.get(path)
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/console/login?")


async def test_a_form_without_its_csrf_token_is_refused(
    console: httpx.AsyncClient, org: Org
) -> None:
    await sign_in(console, org.admin_key)
    for path in ("/console/logout", "/console/queue/claim", "/console/queue/status"):
        answer = await console.post(path, data={"status": "away"})
        assert answer.status_code == 403, path
        assert "security token" in answer.text
    wrong = await console.post("/console/logout", data={"csrf_token": "0" * 64})
    assert wrong.status_code == 403
    # Still signed in: the refused sign-out did nothing.
    assert (await console.get("/console/practice")).status_code == 200


async def test_scopes_decide_the_pages(
    console: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    await seed_practice(session, org)
    lead_id = (await post_leads(console, org, 1))[0]
    reports_only = await key(session, org.id, "reports:read")
    await sign_in(console, reports_only)
    assert (await console.get("/console")).status_code == 200
    for path in ("/console/queue", f"/console/leads/{lead_id}"):
        answer = await console.get(path)
        assert answer.status_code == 403, path
        assert answer.headers["content-type"].startswith("text/html")
        assert "leads:read" in answer.text
        assert_page_headers(answer)

    console.cookies.clear()
    await sign_in(console, await key(session, org.id, "leads:read"))
    assert (await console.get("/console")).status_code == 403
    assert (await console.get("/console/queue")).status_code == 200
    assert (await console.get(f"/console/leads/{lead_id}")).status_code == 200


async def test_reading_a_lead_page_is_audited_like_the_api(
    console: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    await seed_practice(session, org)
    lead_id = (await post_leads(console, org, 1))[0]
    token = await key(session, org.id, "leads:read")
    await sign_in(console, token)
    page = await console.get(f"/console/leads/{lead_id}")
    assert page.status_code == 200 and "Maria" in page.text  # the contact details
    api = await console.get(f"/v1/leads/{lead_id}", headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 200
    events = (
        await session.execute(
            select(AuditEvent.action, AuditEvent.actor_key_id).where(
                AuditEvent.target_id == lead_id, AuditEvent.action == "lead.read"
            )
        )
    ).all()
    assert len(events) == 2 and len({e.actor_key_id for e in events}) == 1


async def test_another_organisations_lead_is_a_404_page(
    console: httpx.AsyncClient, org: Org, other_org: Org, session: AsyncSession
) -> None:
    await seed_practice(session, other_org)
    theirs = (await post_leads(console, other_org, 1))[0]
    await sign_in(console, org.admin_key)
    for path in (f"/console/leads/{theirs}", "/console/leads/not-a-uuid"):
        answer = await console.get(path)
        assert answer.status_code in (404, 422), path
        assert answer.headers["content-type"].startswith("text/html")
        assert "Maria" not in answer.text
    assert (await console.get(f"/console/leads/{theirs}")).status_code == 404


async def test_a_revoked_key_ends_its_session_at_the_next_request(
    console: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    token = await key(session, org.id, "reports:read")
    await sign_in(console, token)
    assert (await console.get("/console")).status_code == 200
    keys = (await console.get("/v1/api-keys", headers=org.headers)).json()["data"]
    mine = next(k for k in keys if token.startswith(k["prefix"]))
    assert (await console.delete(f"/v1/api-keys/{mine['id']}", headers=org.headers)).is_success
    answer = await console.get("/console")
    assert answer.status_code == 303 and "revoked" in answer.headers["location"]
    ended = await session.scalar(
        text(
            "SELECT count(*) FROM console_sessions"
            " WHERE ended_at IS NOT NULL AND organization_id = :org"
        ),
        {"org": org.id},
    )
    assert ended == 1


async def test_sign_out_and_idle_expiry_end_the_session(
    console: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    await sign_in(console, org.admin_key)
    stolen = dict(console.cookies)
    page = await console.get("/console/practice")
    out = await console.post("/console/logout", data={"csrf_token": csrf_of(page)})
    assert out.status_code == 303 and out.headers["location"].startswith("/console/login")
    # A copy of the cookie taken before signing out no longer works.
    console.cookies.update(stolen)
    replay = await console.get("/console/practice")
    assert replay.status_code == 303

    console.cookies.clear()
    await sign_in(console, org.admin_key)
    await session.execute(
        text(
            "UPDATE console_sessions SET last_seen_at = :t"
            " WHERE ended_at IS NULL AND organization_id = :org"
        ),
        {"t": dt.datetime.now(dt.UTC) - dt.timedelta(hours=12, minutes=1), "org": org.id},
    )
    await session.commit()
    answer = await console.get("/console/practice")
    assert answer.status_code == 303 and "activity" in answer.headers["location"]


async def test_no_personal_data_in_urls(
    console: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    await seed_practice(session, org)
    await post_leads(console, org, 3)
    await sign_in(console, org.admin_key)
    page = await console.get("/console/queue")
    assert page.status_code == 200
    urls = re.findall(r'(?:href|action|hx-get)="([^"]*)"', page.text)
    assert urls
    for url in urls:
        assert "@" not in url and "555" not in url and "Maria" not in url
    assert len(page.content) < 200_000
