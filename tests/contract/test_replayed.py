"""`Idempotent-Replayed: true` on the replayed answer of every route that takes
`Idempotency-Key`, and on a webhook redelivery (the sender's event id is its key)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import httpx

from app.main import create_app
from app.signatures import generate_whsec
from tests.conftest import Org, make_settings
from tests.intake.helpers import create_source, person
from tests.intake.test_webhooks import signed, webhook_path
from tests.outreach.helpers import at, attempt, backdate

# Routes whose success needs a state built by other tests (a dead delivery, FHIR slots); the
# same decorator answers them.
NEED_A_STATE = {
    "/v1/fhir",
    "/v1/leads/{lead_id}/slot-holds",
    "/v1/webhook-deliveries/{delivery_id}/redeliver",
    "/v1/webhook-subscriptions/{subscription_id}/retry-now",
}
Ids = dict[str, Any]
# (path, body from the ids so far, where the answer's id goes)
Step = tuple[str, Callable[[Ids], Any], str | None]
START = (dt.datetime.now(dt.UTC) + dt.timedelta(days=3)).replace(microsecond=0)
SECRET = generate_whsec()
SPEND = {"date": "2026-01-05", "source": "meta", "amount": "1.00", "currency": "USD"}

STEPS: list[Step] = [
    ("/v1/api-keys", lambda _: {"name": "reader", "scopes": ["leads:read"]}, None),
    (
        "/v1/sources",
        lambda _: {"kind": "web_form", "name": "Form", "settings": {"secrets": [SECRET]}},
        None,
    ),
    ("/v1/locations", lambda _: {"name": "Clinic", "postal_code": "60647"}, None),
    ("/v1/services", lambda _: {"code": "knee", "name": "Knee"}, None),
    ("/v1/teams", lambda _: {"name": "Desk"}, "team"),
    ("/v1/teams/{team}/members", lambda _: {"display_name": "Ann"}, "member"),
    (
        "/v1/routing/rulesets",
        lambda i: {"name": "all", "rules": [{"id": "d", "name": "all", "team_id": i["team"]}]},
        "ruleset",
    ),
    ("/v1/routing/rulesets/{ruleset}/publish", lambda _: None, None),
    (
        "/v1/webhook-subscriptions",
        lambda _: {"url": "https://hooks.example.com/lr", "event_types": ["lead.received"]},
        None,
    ),
    ("/v1/leads", lambda _: person(8801), "lead_id"),
    ("/v1/handoffs/claim", lambda i: {"member_id": i["member"]}, None),
    (
        "/v1/leads/{lead_id}/appointments",
        lambda _: {
            "external_id": "a-1",
            "status": "booked",
            "start": START.isoformat(),
            "end": (START + dt.timedelta(minutes=30)).isoformat(),
        },
        None,
    ),
    ("/v1/leads/{lead_id}/reassign", lambda i: {"member_id": i["member"], "reason": "x"}, None),
    ("/v1/leads/{lead_id}/contact-attempts", lambda _: attempt("no_answer", at(16)), None),
    (
        "/v1/consent/revocations",
        lambda i: {"lead_id": i["lead_id"], "channel": "sms", "via": "agent"},
        None,
    ),
    ("/v1/consent/grants", lambda i: _grant(i["lead_id"]), None),
    (
        "/v1/erasure-requests",
        lambda _: {
            "email": "nobody@example.com",
            "received_at": "2026-01-05T09:00:00Z",
            "verified_by": "front desk",
        },
        None,
    ),
    ("/v1/spend", lambda _: [SPEND], None),
]


def _grant(lead_id: str) -> dict[str, Any]:
    """A new written SMS consent after the revocation above."""
    return {"lead_id": lead_id, "channel": "sms", "purpose": "scheduling",
            "disclosure_text": "Yes, text me about my appointment.", "method": "web_form",
            "captured_at": dt.datetime.now(dt.UTC).isoformat(), "captured_by": "form",
            "ip": "203.0.113.9", "page_url": "https://clinic.example/text-me"}  # fmt: skip


async def _twice(client: httpx.AsyncClient, org: Org, path: str, body: Any) -> httpx.Response:
    headers = {**org.headers, "Idempotency-Key": f"replay {path}"}
    first = await client.post(path, json=body, headers=headers)
    again = await client.post(path, json=body, headers=headers)
    assert first.status_code in (200, 201), (path, first.text)
    assert (again.status_code, again.json()) == (first.status_code, first.json()), path
    assert "Idempotent-Replayed" not in first.headers, path
    assert again.headers.get("Idempotent-Replayed") == "true", path
    return first


async def test_every_replayed_answer_says_so(
    client: httpx.AsyncClient, org: Org, session: Any
) -> None:
    ids: Ids = {}
    for template, body, keep in STEPS:
        path = template.format(**ids)
        if template.endswith("/contact-attempts"):
            await backdate(session, ids["lead_id"])
        answer = (await _twice(client, org, path, body(ids))).json()
        if keep:
            ids[keep] = answer.get("id") or answer.get(keep)


async def test_a_replayed_inbox_replay_says_so(client: httpx.AsyncClient, org: Org) -> None:
    source = await create_source(client, org, "partner", {"secrets": [SECRET]})
    body = json.dumps({"fname": "Ann", "mobile": "+1 312 555 0142"}).encode()
    r = await client.post(webhook_path(source), content=body, headers=signed(body, SECRET, "q-1"))
    assert r.status_code == 422, r.text  # quarantined: no mapping yet
    mapping = {"mapping": {"fname": "first_name", "mobile": "phone"}}
    await client.patch(f"/v1/sources/{source['id']}", json=mapping, headers=org.headers)
    await _twice(client, org, f"/v1/inbox/{r.json()['inbox_id']}/replay", None)


async def test_every_route_that_takes_the_key_is_replayed_here_or_elsewhere() -> None:
    spec = create_app(make_settings()).openapi()
    taking = {
        path
        for path, ops in spec["paths"].items()
        for op in ops.values()
        if any(p.get("name") == "Idempotency-Key" for p in op.get("parameters", []))
    }
    named = {"{team}": "{team_id}", "{ruleset}": "{ruleset_id}"}
    tested_here = {"/v1/inbox/{inbox_id}/replay"}
    for template, _, _ in STEPS:
        for short, full in named.items():
            template = template.replace(short, full)
        tested_here.add(template)
    assert taking - tested_here == NEED_A_STATE
