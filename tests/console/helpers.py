"""Signing in to the console over HTTP, and a practice with routed leads to look at."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import service as auth_service
from app.demo import practice as practice_demo
from app.demo import routing as routing_demo
from app.demo import sources as intake_demo
from tests.conftest import Org
from tests.intake.helpers import person

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


async def key(session: AsyncSession, org_id: uuid.UUID, *scopes: str) -> str:
    _, token = await auth_service.create_key(session, org_id, "person", list(scopes))
    await session.commit()
    return token


async def sign_in(client: httpx.AsyncClient, token: str) -> httpx.Response:
    form = await client.get("/console/login")
    nonce = CSRF.search(form.text)
    assert nonce, form.text
    return await client.post(
        "/console/login", data={"api_key": token, "csrf_token": nonce.group(1)}
    )


def csrf_of(page: httpx.Response) -> str:
    found = CSRF.search(page.text)
    assert found, page.text[:500]
    return found.group(1)


async def seed_practice(session: AsyncSession, org: Org) -> None:
    await practice_demo.seed(session, org.id)
    await intake_demo.seed_sources(session, org.id)
    await routing_demo.seed(session, org.id)
    await session.commit()


async def post_leads(client: httpx.AsyncClient, org: Org, n: int, **extra: Any) -> list[str]:
    ids = []
    for i in range(n):
        body = person(i + 1, postal_code="60614", service={"text": "knee pain"}, **extra)
        answer = await client.post("/v1/leads", json=body, headers=org.headers)
        assert answer.status_code in (200, 201), answer.text
        ids.append(answer.json()["lead_id"])
    return ids
