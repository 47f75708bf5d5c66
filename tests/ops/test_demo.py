from __future__ import annotations

import json

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from app import demo
from app.intake.source_settings import SETTINGS_MODELS


async def test_demo_seeds_a_source_of_each_kind_and_its_sample_lead_posts(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    info = await demo.seed(session)
    await session.commit()
    headers = {"Authorization": f"Bearer {info.admin_key}"}
    kinds = {s["kind"] for s in (await client.get("/v1/sources", headers=headers)).json()["data"]}
    assert kinds == set(SETTINGS_MODELS)
    r = await client.post("/v1/leads", json=json.loads(demo.SAMPLE_LEAD), headers=headers)
    assert r.status_code == 201, r.text
    again = await demo.seed(session)  # a second start reuses the organisation
    assert again.org_id == info.org_id and not again.created
    assert info.admin_key in demo.banner(info, "127.0.0.1", 8000)
