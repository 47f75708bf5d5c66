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
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import service as audit
from app.config import Settings, get_settings
from app.db import utcnow
from app.handoff import service
from app.handoff.models import WebhookDelivery, WebhookMessage, WebhookSubscription
from app.handoff.subscriptions import secret_of
from app.handoff.targets import Target, TargetRefused, resolve_target
from app.intake.signatures import sign_standard_webhook
from app.jobs import service as jobs
from app.jobs.models import Job
from app.tenancy import scoped

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
    delivery: WebhookDelivery, message: WebhookMessage, secret: str, timestamp: int
) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(message.payload, separators=(",", ":"), sort_keys=True).encode()
    headers = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": delivery.webhook_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign_standard_webhook(delivery.webhook_id, timestamp, body, secret),
    }
    return body, headers


async def attempt(
    sub: WebhookSubscription, message: WebhookMessage, delivery: WebhookDelivery
) -> Outcome:
    cfg = _settings()
    body, headers = signed_request(delivery, message, secret_of(sub), int(time.time()))
    try:
        target = await resolve_target(sub.url, allow_private=cfg.allow_private_webhook_targets)
    except TargetRefused as exc:
        return Outcome(None, f"target refused: {exc}")
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


Locked = tuple[WebhookDelivery, WebhookSubscription, WebhookMessage]


async def _lock(session: AsyncSession, job: Job) -> Locked | None:
    """The delivery (row-locked, skipping one another worker holds), its endpoint, its event."""
    assert job.organization_id is not None
    key = uuid.UUID(job.payload["delivery_id"])
    stmt = scoped(WebhookDelivery, job.organization_id).where(WebhookDelivery.id == key)
    # The subscription is not locked: deliveries to one endpoint go out in parallel.
    joined = (
        stmt.add_columns(WebhookSubscription, WebhookMessage)
        .join(WebhookSubscription, WebhookSubscription.id == WebhookDelivery.subscription_id)
        .join(WebhookMessage, WebhookMessage.id == WebhookDelivery.message_id)
        .with_for_update(of=WebhookDelivery, skip_locked=True)
    )
    row = (await session.execute(joined)).one_or_none()
    if row is None:
        if (await session.execute(stmt)).scalar_one_or_none() is not None:
            raise jobs.RetryLater("delivery in flight in another worker", dt.timedelta(seconds=15))
        return None
    delivery, subscription, message = row
    return delivery, subscription, message


@jobs.registry.register(service.DELIVER, schedule=(5, 30, 120, 600), max_attempts=5)
async def deliver(session: AsyncSession, job: Job) -> None:
    locked = await _lock(session, job)
    now = utcnow()
    if locked is None:
        return  # gone with its subscription
    delivery, sub, message = locked
    if delivery.status not in ("pending", "retrying"):
        return  # delivered or dead: a stale job
    if delivery.next_attempt_at is not None and delivery.next_attempt_at > now + DUE_SLACK:
        return  # superseded by a redelivery that rescheduled it
    if not sub.active:
        delivery.status, delivery.next_attempt_at = "dead", None
        delivery.last_error = "subscription disabled"
        return
    outcome = await attempt(sub, message, delivery)
    await record_outcome(session, delivery, sub, outcome, now)


async def record_outcome(
    session: AsyncSession,
    delivery: WebhookDelivery,
    sub: WebhookSubscription,
    outcome: Outcome,
    now: dt.datetime,
) -> None:
    delivery.attempts += 1
    delivery.last_attempt_at = now
    delivery.last_status_code = outcome.status_code
    ids = {"delivery_id": str(delivery.id), "subscription_id": str(sub.id)}
    if outcome.ok:
        delivery.status, delivery.delivered_at = "succeeded", utcnow()
        delivery.next_attempt_at, delivery.last_error = None, None
        return
    delivery.last_error = (outcome.error or "failed")[:500]
    if outcome.status_code == 410:
        sub.active, sub.disabled_reason = False, "the endpoint answered 410 Gone"
        delivery.status, delivery.next_attempt_at = "dead", None
        await audit.record(
            session, None, "webhook_subscription.disable", "webhook_subscription", sub.id,
            {"reason": "410"}, org_id=sub.organization_id,
        )  # fmt: skip
        log.warning("webhook_subscription_disabled", **ids)
        return
    if delivery.attempts >= max_attempts():
        delivery.status, delivery.next_attempt_at = "dead", None
        log.warning("webhook_delivery_dead", attempts=delivery.attempts, **ids)
        return
    delay = jobs.retry_delay(RETRY_SCHEDULE, delivery.attempts)
    if outcome.status_code in THROTTLED and outcome.retry_after is not None:
        delay = dt.timedelta(seconds=outcome.retry_after)
    delivery.status, delivery.next_attempt_at = "retrying", now + delay
    await session.flush()
    await service.schedule(session, delivery, delivery.next_attempt_at)
