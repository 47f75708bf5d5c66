"""The worker's side of outbound webhooks: sign, POST, record, schedule the next attempt.

Each attempt is one job. The delivery row is locked (SKIP LOCKED) for the length of the
attempt, on top of the job lease, so two workers never POST the same delivery at once even
when a redelivery and a scheduled retry are both due. Attempt bookkeeping lives on the
delivery, which is what `GET /v1/webhook-deliveries` shows; a job fails only on our own errors.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import functools
import json
import ssl
import time
import uuid
import weakref
from collections import OrderedDict
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

import httpx
import structlog

from app.audit import service as audit
from app.config import Settings, get_settings
from app.db import utcnow
from app.direct import Target as DbTarget
from app.direct import fetch
from app.handoff import queries
from app.handoff.subscriptions import decrypt_secret
from app.handoff.targets import Target, TargetRefused, resolve_target
from app.jobs import service as jobs
from app.jobs.models import Job
from app.outbox import service
from app.signatures import sign_standard_webhook

log = structlog.get_logger("app.handoff")

# Standard Webhooks' suggestion: immediately, then 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h,
# 20 h, 24 h (about 3 days in all); each step gets ±20 % jitter from jobs.retry_delay.
RETRY_SCHEDULE: tuple[float, ...] = (5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400)
THROTTLED = frozenset({429, 502, 504})
MAX_RETRY_AFTER = 86400.0
# A job that fires a little early (clock skew, jitter) still counts as due.
DUE_SLACK = dt.timedelta(seconds=1)
USER_AGENT = "lead-router-webhooks/1"


def _settings() -> Settings:
    return get_settings()


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    # Built once: loading the CA bundle for every attempt costs more than the POST.
    return ssl.create_default_context()


# Deliveries to one endpoint reuse its connections: a new client and connection per webhook
# cost 1.5 ms of CPU here against 0.7 ms (plain HTTP; a TLS handshake costs far more). One
# client per address we checked and TLS name, so a connection is never shared between two
# names or two addresses; per event loop, as a connection belongs to its loop. Idle
# connections are dropped after 4 s, before the 5 s idle timeout of common servers closes
# one under a request (that race fails the attempt, which is retried on the schedule).
MAX_CLIENTS = 64
KEEPALIVE_SECONDS = 4.0
_clients: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, OrderedDict[tuple[str, str], httpx.AsyncClient]
] = weakref.WeakKeyDictionary()


def client_key(target: Target) -> tuple[str, str]:
    """The connection identity of a target: its origin (the checked address when pinned)
    and the name TLS presents."""
    parts = urlsplit(target.url)
    return f"{parts.scheme}://{parts.netloc}", target.extensions.get("sni_hostname", "")


async def _client_for(target: Target) -> httpx.AsyncClient:
    clients = _clients.setdefault(asyncio.get_running_loop(), OrderedDict())
    key = client_key(target)
    client = clients.get(key)
    if client is not None:
        clients.move_to_end(key)
        return client
    client = httpx.AsyncClient(
        verify=_ssl_context(),
        follow_redirects=False,
        limits=httpx.Limits(keepalive_expiry=KEEPALIVE_SECONDS),
    )
    clients[key] = client
    while len(clients) > MAX_CLIENTS:
        _, evicted = clients.popitem(last=False)
        await evicted.aclose()
    return client


async def close_clients() -> None:
    """At the worker's stop: this loop's connections closed."""
    clients = _clients.pop(asyncio.get_running_loop(), OrderedDict())
    for client in clients.values():
        await client.aclose()


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    error: str | None = None
    retry_after: float | None = None
    # The guard refused the target for good: retrying would be refused the same way.
    refused: bool = False

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def max_attempts() -> int:
    return len(RETRY_SCHEDULE) + 1


def parse_retry_after(value: str | None, now: dt.datetime) -> float | None:
    """Seconds from `Retry-After` (delta-seconds or HTTP-date), capped at a day."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), MAX_RETRY_AFTER)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return min(max((when - now).total_seconds(), 0.0), MAX_RETRY_AFTER)


def signed_request(
    webhook_id: str, payload: Any, secret: str, timestamp: int
) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    headers = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": webhook_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign_standard_webhook(webhook_id, timestamp, body, secret),
    }
    return body, headers


async def attempt(url: str, webhook_id: str, payload: Any, secret: str) -> Outcome:
    cfg = _settings()
    body, headers = signed_request(webhook_id, payload, secret, int(time.time()))
    try:
        target = await resolve_target(url, allow_private=cfg.allow_private_webhook_targets)
    except TargetRefused as exc:
        return Outcome(None, f"target refused: {exc}", refused=exc.permanent)
    try:
        r = await (await _client_for(target)).post(
            target.url,
            content=body,
            headers={**headers, **target.headers},
            extensions=dict(target.extensions),
            timeout=cfg.outbound_timeout_seconds,
        )
    except httpx.TimeoutException:
        return Outcome(None, f"timed out after {cfg.outbound_timeout_seconds:g} s")
    except httpx.HTTPError as exc:
        return Outcome(None, f"connection failed ({type(exc).__name__})")
    if 200 <= r.status_code < 300:
        return Outcome(r.status_code)
    # The receiver's body is not kept: it is theirs and may echo anything.
    retry_after = parse_retry_after(r.headers.get("retry-after"), utcnow())
    return Outcome(r.status_code, f"HTTP {r.status_code}", retry_after)


@dataclass(frozen=True, slots=True)
class Due:
    """A delivery locked for its attempt, with its endpoint and its event's payload."""

    id: uuid.UUID
    organization_id: uuid.UUID
    status: str
    next_attempt_at: dt.datetime | None
    attempts: int
    redeliveries: int
    webhook_id: str
    subscription_id: uuid.UUID
    url: str
    secret_enc: bytes
    active: bool
    payload: Any


async def _lock(target: DbTarget, job: Job) -> Due | None:
    assert job.organization_id is not None
    key = {"id": uuid.UUID(job.payload["delivery_id"]), "org": job.organization_id}
    rows = await fetch(target, queries.LOCK, key)
    if not rows:
        if await fetch(target, queries.EXISTS, key):
            raise jobs.RetryLater("delivery in flight in another worker", dt.timedelta(seconds=15))
        return None
    return Due(*rows[0])


@jobs.registry.register_direct(service.DELIVER, schedule=(5, 30, 120, 600), max_attempts=5)
async def deliver(target: DbTarget, job: Job) -> None:
    due = await _lock(target, job)
    now = utcnow()
    if due is None:
        return  # gone with its subscription
    if due.status not in ("pending", "retrying"):
        return  # delivered or dead: a stale job
    if due.next_attempt_at is not None and due.next_attempt_at > now + DUE_SLACK:
        return  # superseded by a redelivery that rescheduled it
    if not due.active:
        await fetch(target, queries.ABANDON, {"id": due.id, "org": due.organization_id,
                                       "error": "subscription disabled"})  # fmt: skip
        return
    secret = decrypt_secret(due.subscription_id, due.secret_enc)
    outcome = await attempt(due.url, due.webhook_id, due.payload, secret)
    await record_outcome(target, due, outcome, now)


@dataclass(frozen=True, slots=True)
class Attempted:
    """A delivery's state after an attempt."""

    status: str
    attempts: int
    next_attempt_at: dt.datetime | None = None
    error: str | None = None
    disable: bool = False


def after_attempt(attempts: int, outcome: Outcome, now: dt.datetime) -> Attempted:
    """What an attempt's outcome makes of a delivery that had made `attempts` before it."""
    attempts += 1
    if outcome.ok:
        return Attempted("succeeded", attempts)
    error = (outcome.error or "failed")[:500]
    if outcome.status_code == 410:
        return Attempted("dead", attempts, None, error, disable=True)
    if outcome.refused:
        return Attempted("dead", attempts, None, error)
    if attempts >= max_attempts():
        return Attempted("dead", attempts, None, error)
    delay = jobs.retry_delay(RETRY_SCHEDULE, attempts)
    if outcome.status_code in THROTTLED and outcome.retry_after is not None:
        delay = dt.timedelta(seconds=outcome.retry_after)
    return Attempted("retrying", attempts, now + delay, error)


async def record_outcome(target: DbTarget, due: Due, outcome: Outcome, now: dt.datetime) -> None:
    after = after_attempt(due.attempts, outcome, now)
    await _record(target, due, after, outcome.status_code, now)
    ids = {"delivery_id": str(due.id), "subscription_id": str(due.subscription_id)}
    if after.disable:
        gone = {"id": due.subscription_id, "org": due.organization_id, "at": now,
                "reason": "the endpoint answered 410 Gone"}  # fmt: skip
        await fetch(target, queries.DISABLE, gone)
        await audit.record(
            target, None, "webhook_subscription.disable", "webhook_subscription",
            due.subscription_id, {"reason": "410"}, org_id=due.organization_id,
        )  # fmt: skip
        log.warning("webhook_subscription_disabled", **ids)
    elif after.status == "dead":
        log.warning("webhook_delivery_dead", attempts=after.attempts, **ids)
    elif after.next_attempt_at is not None:
        await service.schedule(target, replace(due, attempts=after.attempts), after.next_attempt_at)


async def _record(
    target: DbTarget, due: Due, after: Attempted, status_code: int | None, at: dt.datetime
) -> None:
    """The delivery's state after the attempt that started `at`."""
    await fetch(
        target,
        queries.RECORD,
        {"id": due.id, "org": due.organization_id, "status": after.status,
         "attempts": after.attempts, "last_attempt_at": at, "last_status_code": status_code,
         "last_error": after.error, "next_attempt_at": after.next_attempt_at,
         "delivered_at": utcnow() if after.status == "succeeded" else None},
    )  # fmt: skip
