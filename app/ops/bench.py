"""Floor endpoints for the intake benchmark (bench/bench_intake.py), off unless enabled.

They run in the same server process as intake so the benchmark can report intake's
throughput as a ratio of what this process can do at all (a constant answer), of the
least a lead endpoint must do (validate the JSON and INSERT one row with asyncpg), and of
what the design makes a lead cost in the database: the same rows intake writes, written
by one hand-written transaction that decides nothing (`POST /bench/rows`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import itertools
import json
import uuid
from dataclasses import dataclass
from typing import Any, Literal

import asyncpg
from asyncpg.pool import PoolConnectionProxy
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from app.db import db
from app.errors import Unprocessable
from app.leads.canonical import CanonicalLead
from app.leads.normalize import zip3

router = APIRouter(prefix="/bench", include_in_schema=False)
_pool: asyncpg.Pool | None = None
_pool_lock = asyncio.Lock()

FLOOR_TABLE = "CREATE TABLE IF NOT EXISTS bench_floor (id uuid PRIMARY KEY, body jsonb NOT NULL)"


async def ensure_floor_table(conn: asyncpg.Connection | PoolConnectionProxy) -> None:
    # The other server process may be creating it at the same moment, and IF NOT EXISTS does
    # not make concurrent creations safe (a duplicate pg_type row): they take turns.
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext('bench_floor'))")
        await conn.execute(FLOOR_TABLE)


async def _get_pool() -> asyncpg.Pool:
    global _pool
    async with _pool_lock:
        if _pool is None:
            assert db.engine is not None
            url = db.engine.url.set(drivername="postgresql")
            pool = await asyncpg.create_pool(
                url.render_as_string(hide_password=False), min_size=2, max_size=10
            )
            async with pool.acquire() as conn:
                await ensure_floor_table(conn)
            _pool = pool
    return _pool


@router.get("/constant")
async def constant() -> JSONResponse:
    return JSONResponse({"ok": True})


@router.post("/insert")
async def insert_one(request: Request) -> JSONResponse:
    body = await request.body()
    try:
        lead = CanonicalLead.model_validate_json(body)
    except ValidationError:
        raise Unprocessable("invalid lead") from None
    pool = await _get_pool()
    lead_id = uuid.uuid4()
    async with pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO bench_floor (id, body) VALUES ($1, $2::jsonb)",
            lead_id,
            json.dumps(lead.model_dump(mode="json", exclude_none=True)),
        )
    return JSONResponse({"lead_id": str(lead_id)}, status_code=201)


# The rows one new lead writes, as intake writes them (bench/bench_intake.py lists them):
# the lead (its metrics, rollup and member counters follow through the triggers), its
# submission, two consent events (a lead that brings consent), two timeline events, and
# per event an outbox message with one delivery and its job; the inbox row of a webhook
# delivery, or the audit row of an API-key submission. Nothing is decided: the team, the
# member (in turn), the service and the location were read once at start-up, and the
# stored PII and evidence are the request's bytes as they came (no encryption).
_LEAD = """
INSERT INTO leads (id, organization_id, source_id, received_at, last_submitted_at, status,
    is_test, channel, external_id, pii, phone_hash, email_hash, zip3, state, time_zone,
    normalization_flags, attribution, resubmission_count, service_code, location_id, urgency,
    emergency, qualified, score, score_band, assessment, team_id, member_id, routing_trace,
    routed_at, sla_due_at, do_not_contact, contact_channels, updated_at)
VALUES ($1, $2, $3, $4::timestamptz, $4, 'routed', false, $5, $6, $7, $8, $9, $10, 'IL',
    'America/Chicago', '{}', $11::jsonb, 0, $12, $13, 'routine', false, true, 90, 'hot', '{}',
    $14, $15, '{}', $4, $4 + interval '4 hours', '{}', $16, $4)
"""
_SUBMISSION = """
INSERT INTO lead_submissions (id, organization_id, lead_id, source_id, inbox_id, received_at,
    is_resubmission, external_id, channel, attribution, normalization_flags, payload)
VALUES ($1, $2, $3, $4, $5, $6, false, $7, $8, $9::jsonb, '{}', $10)
"""
_CONSENT = """
INSERT INTO consent_events (id, organization_id, lead_id, phone_hash, email_hash, channel,
    purpose, decision, origin, evidence, captured_at, retain_until)
SELECT gen_random_uuid(), $1, $2, $3, $4, c, 'scheduling', 'granted', 'lead', $5, $6::timestamptz,
    $6 + interval '5 years'
FROM unnest($7::text[]) AS c
"""
_TIMELINE = """
INSERT INTO lead_events (organization_id, lead_id, type, data, occurred_at)
SELECT $1, $2, t, $3::jsonb, $4 FROM unnest($5::text[]) AS t
"""
_MESSAGES = """
INSERT INTO webhook_messages (id, organization_id, event_type, lead_id, payload, created_at)
SELECT m, $1, t, $2, $3::jsonb, $4 FROM unnest($5::uuid[], $6::text[]) AS x(m, t)
"""
_DELIVERIES = """
INSERT INTO webhook_deliveries (id, organization_id, message_id, subscription_id, webhook_id,
    event_type, status, attempts, redeliveries, next_attempt_at, created_at)
SELECT d, $1, m, $2, 'msg_' || replace(m::text, '-', '') || '_' || $3, t, 'pending', 0, 0,
    $4, $4
FROM unnest($5::uuid[], $6::uuid[], $7::text[]) AS x(d, m, t)
"""
_JOBS = """
INSERT INTO jobs (organization_id, kind, payload, dedupe_key, status, run_at, attempts,
    max_attempts, created_at)
SELECT $1, 'webhook.deliver', jsonb_build_object('delivery_id', d), d::text || ':0:0',
    'queued', $2, 0, 5, $2
FROM unnest($3::uuid[]) AS d
"""
_INBOX = """
INSERT INTO inbox_deliveries (id, organization_id, source_id, event_id, status, content_type,
    headers, body, received_at, processed_at, response_status, response_body, replay_count)
VALUES ($1, $2, $3, $4, 'processed', 'application/json', '{}', $5, $6, $6, 200,
    $7::jsonb, 0)
"""
_AUDIT = """
INSERT INTO audit_events (organization_id, action, target_type, target_id, client_ip,
    details, route)
VALUES ($1, 'lead.create', 'lead', $2, '127.0.0.1', '{"resubmission": false}',
    'POST /v1/leads')
"""
_EVENTS = ["lead.received", "lead.routed"]


@dataclass(frozen=True)
class _Targets:
    """What the floor writes its rows against, read once: no routing, no lookups."""

    org: uuid.UUID
    source: uuid.UUID
    team: uuid.UUID
    members: itertools.cycle[uuid.UUID]
    service: str
    location: uuid.UUID
    subscription: uuid.UUID


_targets: _Targets | None = None


async def _get_targets(conn: asyncpg.Connection | PoolConnectionProxy) -> _Targets:
    global _targets
    if _targets is None:
        org = await conn.fetchval("SELECT id FROM organizations ORDER BY created_at LIMIT 1")
        team = await conn.fetchval(
            "SELECT t.id FROM teams t WHERE t.organization_id = $1 AND EXISTS "
            "(SELECT 1 FROM members m WHERE m.team_id = t.id) ORDER BY t.name LIMIT 1",
            org,
        )
        members = await conn.fetch("SELECT id FROM members WHERE team_id = $1 ORDER BY id", team)
        location = await conn.fetchval(
            "SELECT id FROM locations WHERE organization_id = $1 ORDER BY name LIMIT 1", org
        )
        service = await conn.fetchval(
            "SELECT code FROM services WHERE organization_id = $1 ORDER BY code LIMIT 1", org
        )
        source = await conn.fetchval(
            "SELECT id FROM sources WHERE organization_id = $1 AND kind = 'web_form' LIMIT 1",
            org,
        )
        subscription = await conn.fetchval(
            "SELECT id FROM webhook_subscriptions WHERE organization_id = $1 LIMIT 1", org
        )
        if subscription is None:
            raise Unprocessable("the rows floor needs a webhook subscription")
        _targets = _Targets(
            org=org,
            source=source,
            team=team,
            members=itertools.cycle([m["id"] for m in members]),
            service=service,
            location=location,
            subscription=subscription,
        )
    return _targets


@router.post("/rows")
async def insert_rows(
    request: Request, via: Literal["api", "webhook", "lead_form"] = "api"
) -> JSONResponse:
    body = await request.body()
    try:
        lead = CanonicalLead.model_validate_json(body)
    except ValidationError:
        raise Unprocessable("invalid lead") from None
    pool = await _get_pool()
    lead_id, inbox_id = uuid.uuid4(), uuid.uuid4()
    messages = [uuid.uuid4() for _ in _EVENTS]
    deliveries = [uuid.uuid4() for _ in _EVENTS]
    now = dt.datetime.now(dt.UTC)
    phone = hashlib.sha256((lead.phone or "").encode()).hexdigest()
    email = hashlib.sha256((lead.email or "").encode()).hexdigest()
    attribution = lead.attribution.model_dump_json(exclude_none=True) if lead.attribution else "{}"
    channel = {"api": "api", "webhook": "web_form", "lead_form": "lead_form"}[via]
    event: dict[str, Any] = {"lead_id": str(lead_id), "status": "routed", "channel": channel}
    webhook = via != "api"
    channels = ["voice", "sms"] if lead.consent is not None else []
    area = zip3(lead.postal_code)
    async with pool.acquire() as conn:
        t = await _get_targets(conn)
        member = next(t.members)
        source = t.source if webhook else None
        async with conn.transaction():
            if webhook:
                await conn.execute(
                    _INBOX, inbox_id, t.org, t.source, str(inbox_id), body, now,
                    json.dumps({"leads": [{"lead_id": str(lead_id)}]}),
                )  # fmt: skip
            await conn.execute(
                _LEAD, lead_id, t.org, source, now, channel, lead.external_id, body, phone, email,
                area, attribution, t.service, t.location, t.team, member, channels,
            )  # fmt: skip
            await conn.execute(
                _SUBMISSION, uuid.uuid4(), t.org, lead_id, source, inbox_id if webhook else None,
                now, lead.external_id, channel, attribution, body,
            )  # fmt: skip
            if channels:
                await conn.execute(_CONSENT, t.org, lead_id, phone, email, body, now, channels)
            await conn.execute(_TIMELINE, t.org, lead_id, json.dumps(event), now, _EVENTS)
            await conn.execute(_MESSAGES, t.org, lead_id, json.dumps(event), now, messages, _EVENTS)
            await conn.execute(
                _DELIVERIES, t.org, t.subscription, t.subscription.hex[:12], now, deliveries,
                messages, _EVENTS,
            )  # fmt: skip
            await conn.execute(_JOBS, t.org, now, deliveries)
            if not webhook:
                await conn.execute(_AUDIT, t.org, str(lead_id))
    return JSONResponse({"lead_id": str(lead_id)}, status_code=201)
