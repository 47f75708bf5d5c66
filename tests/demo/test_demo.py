"""`lead-router demo`'s practice, key, banner and signed test delivery."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from app import demo
from app.intake.source_settings import SETTINGS_MODELS

BASE = "http://127.0.0.1:8123"


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


async def test_the_key_is_kept_across_starts(
    client: httpx.AsyncClient, session: AsyncSession, tmp_path: Path
) -> None:
    key_file = tmp_path / "demo-admin-key"
    first = await demo.seed(session, key_file)
    assert not first.key_reused and key_file.read_text().strip() == first.admin_key
    assert key_file.stat().st_mode & 0o077 == 0
    second = await demo.seed(session, key_file)
    assert second.key_reused and second.admin_key == first.admin_key
    # A key that no longer works (revoked) is replaced, and the demo's old keys revoked.
    await client.get("/v1/sources", headers={"Authorization": f"Bearer {first.admin_key}"})
    key_file.write_text("lr_not_a_key\n")
    third = await demo.seed(session, key_file)
    await session.commit()
    assert not third.key_reused and third.admin_key != first.admin_key
    old = await client.get("/v1/sources", headers={"Authorization": f"Bearer {first.admin_key}"})
    assert old.status_code == 401
    new = await client.get("/v1/sources", headers={"Authorization": f"Bearer {third.admin_key}"})
    assert new.status_code == 200


async def test_banner_names_the_console_the_secrets_and_a_signed_delivery_that_works(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    info = await demo.seed(session)
    await session.commit()
    text = demo.banner(info, BASE, history="history: 10 leads", private_targets=True)
    assert f"{BASE}/console" in text and info.admin_key in text
    assert "LEAD_ROUTER_ALLOW_PRIVATE_WEBHOOK_TARGETS" in text and "development only" in text
    for source in info.sources:
        assert f"{BASE}/v1/webhooks/{source.id}" in text
        if source.secret:
            assert source.secret in text
    curl = next(
        line.strip() for line in text.splitlines() if line.strip().startswith("curl -s http")
    )
    args = shlex.split(curl)
    url = args[2].removeprefix(BASE)
    headers = dict(
        re.split(r":\s*", args[i + 1], maxsplit=1) for i, a in enumerate(args) if a == "-H"
    )
    body = args[args.index("-d") + 1]
    r = await client.post(url, content=body, headers=headers)
    assert r.status_code in (200, 201, 202), r.text


async def test_demo_curl_signs_anew_from_the_saved_sources(
    session: AsyncSession, tmp_path: Path
) -> None:
    info = await demo.seed(session)
    assert "lead-router demo" in demo.fresh_curl(tmp_path)
    demo.save_delivery_info(tmp_path, BASE, info)
    curl = demo.fresh_curl(tmp_path, "partner")
    partner = next(s for s in info.sources if s.kind == "partner")
    assert curl.startswith(f"curl -s {BASE}/v1/webhooks/{partner.id}")
    assert "webhook-signature: v1," in curl
