"""Subscriptions, the SSRF guard, the outbox fan-out, and tenancy."""

from __future__ import annotations

import ipaddress
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.handoff.targets import address_allowed
from app.jobs.models import Job
from app.outbox import service as outbox
from app.outbox.models import WebhookDelivery, WebhookMessage
from tests.conftest import ClientWith, Org
from tests.handoff.conftest import subscribe

HOOK = "http://127.0.0.1:9/hook"


async def test_secret_is_shown_once_and_stored_encrypted(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    made = await subscribe(client, org, HOOK, ["lead.routed", "appointment.booked"])
    assert made["secret"].startswith("whsec_")
    assert made["event_types"] == ["appointment.booked", "lead.routed"]

    listed = (await client.get("/v1/webhook-subscriptions", headers=org.headers)).json()
    assert [s["id"] for s in listed["data"]] == [made["id"]]
    assert "secret" not in listed["data"][0]
    mine = select(WebhookDelivery).where(WebhookDelivery.organization_id == org.id)
    raw = await session.execute(mine)  # nothing sent yet
    assert raw.first() is None


async def test_unknown_event_types_and_fields_are_422(client: httpx.AsyncClient, org: Org) -> None:
    for body in (
        {"url": HOOK, "event_types": ["lead.exploded"]},
        {"url": HOOK, "event_types": []},
        {"url": HOOK, "event_types": ["lead.routed"], "secret": "whsec_mine"},
    ):
        r = await client.post("/v1/webhook-subscriptions", json=body, headers=org.headers)
        assert r.status_code == 422, body


@pytest.fixture
async def strict_client(client_with: ClientWith) -> AsyncIterator[httpx.AsyncClient]:
    """The production default: private targets refused."""
    async with client_with(allow_private_webhook_targets=False) as c:
        yield c


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hook",
        "https://localhost:8443/hook",
        "https://10.1.2.3/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hook",
        "https://[::ffff:127.0.0.1]/hook",
        "https://[64:ff9b::7f00:1]/hook",  # NAT64 of 127.0.0.1
        "https://[64:ff9b::a00:1]/hook",  # NAT64 of 10.0.0.1
        "https://[2002:7f00:1::]/hook",  # 6to4 of 127.0.0.1
        "https://[2001:0:4136:e378:8000:63bf:80ff:fffe]/hook",  # Teredo
        "https://[::7f00:1]/hook",  # IPv4-compatible 127.0.0.1
        "https://example.com:0/hook",
        "http://127.0.0.1:9/hook",
        "https://user:pw@127.0.0.1/hook",
        "ftp://127.0.0.1/hook",
    ],
)
async def test_private_targets_are_refused_unless_allowed(
    strict_client: httpx.AsyncClient, org: Org, url: str
) -> None:
    r = await strict_client.post(
        "/v1/webhook-subscriptions",
        json={"url": url, "event_types": ["lead.routed"]},
        headers=org.headers,
    )
    assert r.status_code == 422, r.text
    assert r.json()["type"].endswith("/webhook-target-refused")


def test_address_classes() -> None:
    refused = [
        "127.0.0.1", "10.0.0.1", "172.16.5.4", "192.168.1.1", "169.254.169.254", "100.64.0.1",
        "0.0.0.0", "224.0.0.1",  # noqa: S104 "::1", "fe80::1", "fc00::1", "::ffff:10.0.0.1", "240.0.0.1",
    ]  # fmt: skip
    for a in refused:
        assert not address_allowed(ipaddress.ip_address(a)), a
    for a in ["64:ff9b::7f00:1", "64:ff9b:1::808:808", "2002:808:808::1", "2001:0:1::1"]:
        assert not address_allowed(ipaddress.ip_address(a)), a
    for a in ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "64:ff9b::808:808"]:
        assert address_allowed(ipaddress.ip_address(a)), a


async def test_emit_fans_out_to_matching_active_subscriptions(
    client: httpx.AsyncClient, org: Org, other_org: Org, session: AsyncSession
) -> None:
    routed = await subscribe(client, org, HOOK, ["lead.routed"])
    both = await subscribe(client, org, HOOK + "2", ["lead.routed", "lead.received"])
    off = await subscribe(client, org, HOOK + "3", ["lead.routed"])
    await client.patch(
        f"/v1/webhook-subscriptions/{off['id']}", json={"active": False}, headers=org.headers
    )
    await subscribe(client, other_org, HOOK, ["lead.routed"])

    msg_id = await outbox.emit(session, org.id, "lead.routed", {"team_id": None})
    await outbox.emit(session, org.id, "lead.received", {})

    deliveries = (
        (
            await session.execute(
                select(WebhookDelivery)
                .where(WebhookDelivery.organization_id == org.id)
                .order_by(WebhookDelivery.created_at)
            )
        )
        .scalars()
        .all()
    )
    routed_subs = {str(d.subscription_id) for d in deliveries if d.event_type == "lead.routed"}
    assert routed_subs == {routed["id"], both["id"]}
    assert [d.subscription_id for d in deliveries if d.event_type == "lead.received"] == [
        uuid.UUID(both["id"])
    ]
    assert all(d.webhook_id.startswith(msg_id) for d in deliveries if d.event_type == "lead.routed")
    assert len({d.webhook_id for d in deliveries}) == 3
    ours = select(Job).where(Job.organization_id == org.id, Job.kind == outbox.DELIVER)
    jobs = (await session.execute(ours)).scalars().all()
    assert {j.payload["delivery_id"] for j in jobs} >= {str(d.id) for d in deliveries}
    message = (
        await session.execute(
            select(WebhookMessage).where(
                WebhookMessage.organization_id == org.id, WebhookMessage.event_type == "lead.routed"
            )
        )
    ).scalar_one()
    assert set(message.payload) == {"type", "timestamp", "data"}


async def test_unknown_event_type_is_a_programming_error(session: AsyncSession, org: Org) -> None:
    with pytest.raises(ValueError):
        await outbox.emit(session, org.id, "lead.teleported", {})


async def test_other_organisations_ids_are_404(
    client: httpx.AsyncClient, org: Org, other_org: Org, session: AsyncSession
) -> None:
    sub = await subscribe(client, org, HOOK, ["lead.routed"])
    await outbox.emit(session, org.id, "lead.routed", {})
    await session.commit()
    mine = (await client.get("/v1/webhook-deliveries", headers=org.headers)).json()["data"]
    assert len(mine) == 1
    theirs = (await client.get("/v1/webhook-deliveries", headers=other_org.headers)).json()
    assert theirs["data"] == []
    for method, path in (
        ("GET", f"/v1/webhook-subscriptions/{sub['id']}"),
        ("PATCH", f"/v1/webhook-subscriptions/{sub['id']}"),
        ("DELETE", f"/v1/webhook-subscriptions/{sub['id']}"),
        ("POST", f"/v1/webhook-deliveries/{mine[0]['id']}/redeliver"),
    ):
        kwargs = {"json": {}} if method == "PATCH" else {}
        r = await client.request(method, path, headers=other_org.headers, **kwargs)
        assert r.status_code == 404, (method, path, r.text)


async def test_deliveries_list_paginates(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    await subscribe(client, org, HOOK, ["lead.routed"])
    for _ in range(5):
        await outbox.emit(session, org.id, "lead.routed", {})
    await session.commit()
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (
            await client.get("/v1/webhook-deliveries", params=params, headers=org.headers)
        ).json()
        seen += [d["id"] for d in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 5
    r = await client.get(
        "/v1/webhook-deliveries", params={"status": "pending"}, headers=org.headers
    )
    assert len(r.json()["data"]) == 5
