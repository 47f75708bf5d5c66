"""Pulling free slots from the practice's FHIR server, on the worker's clock.

Each location is read as `GET {base}/Slot?schedule.actor=Location/{ref}&start=ge{now}&
start=lt{now + days}&status=free&_include=Slot:schedule`, following `Bundle.link` `next`.
Its Schedules come along (`_include`) or are read by id. What the server no longer lists as
free within the window was taken there: our copy becomes busy. A server that fails is
recorded on the feed (`last_error`) and tried again at the next interval.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import httpx
import structlog
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.availability import fhir, redecide
from app.availability import service as availability
from app.availability.fhir import Entry
from app.availability.models import AvailabilityFeed, Schedule, Slot
from app.catalog.models import Location
from app.config import get_settings
from app.db import utcnow
from app.jobs import service as jobs
from app.jobs.models import Job

log = structlog.get_logger("app.availability.pull")

POLL = "availability.poll"
MAX_PAGES = 200
PAGE_SIZE = 500
FEEDS_PER_RUN = 5


class FeedError(Exception):
    """The server's answer could not be used (status, media type, shape)."""


def next_minute(now: dt.datetime) -> dt.datetime:
    return now.replace(second=0, microsecond=0) + dt.timedelta(minutes=1)


async def schedule(session: AsyncSession, run_at: dt.datetime) -> None:
    await jobs.enqueue(
        session, POLL, {}, run_at=run_at, dedupe_key=f"{POLL}:{run_at:%Y%m%dT%H%M%S}"
    )


@jobs.registry.register(POLL, schedule=(5, 15, 30, 60), max_attempts=30_000)
async def _poll_job(session: AsyncSession, job: Job) -> None:
    now = utcnow()
    await poll_due(session, now)
    await schedule(session, next_minute(now))


async def poll_due(session: AsyncSession, now: dt.datetime) -> int:
    """Poll the feeds whose interval is up (a few per run); returns how many."""
    stmt = (
        select(AvailabilityFeed)
        .where(AvailabilityFeed.next_poll_at <= now)
        .order_by(AvailabilityFeed.next_poll_at)
        .limit(FEEDS_PER_RUN)
        .with_for_update(skip_locked=True)
    )
    feeds = list((await session.execute(stmt)).scalars())
    for feed in feeds:
        await poll_feed(session, feed, now)
    return len(feeds)


async def poll_feed(
    session: AsyncSession, feed: AvailabilityFeed, now: dt.datetime
) -> availability.Written | None:
    feed.last_polled_at = now
    feed.next_poll_at = now + dt.timedelta(minutes=feed.poll_minutes)
    timeout = get_settings().outbound_timeout_seconds
    try:
        async with (
            session.begin_nested(),
            httpx.AsyncClient(timeout=timeout, follow_redirects=False) as client,
        ):
            written, seen = await _read(session, client, feed, now)
    except (httpx.HTTPError, FeedError) as exc:
        # The exception text names the server, never personal data.
        feed.last_error = (str(exc) or type(exc).__name__)[:500]
        log.warning("availability_poll_failed", feed_id=str(feed.id), error=feed.last_error)
        return None
    feed.last_error = None
    feed.last_slot_count = seen
    await redecide.after_write(session, feed.organization_id, written)
    return written


async def _read(
    session: AsyncSession, client: httpx.AsyncClient, feed: AvailabilityFeed, now: dt.datetime
) -> tuple[availability.Written, int]:
    until = now + dt.timedelta(days=feed.days_ahead)
    rows = (
        await session.execute(
            select(Location.id, Location.scheduler_ids).where(
                Location.organization_id == feed.organization_id
            )
        )
    ).all()
    schedules: dict[str, dict[str, Any]] = {}
    slots: dict[str, dict[str, Any]] = {}
    for loc_id, refs in rows:
        ref = refs[0] if refs else str(loc_id)
        params = {
            "schedule.actor": f"Location/{ref}",
            "start": [f"ge{fhir.instant_out(now)}", f"lt{fhir.instant_out(until)}"],
            "status": "free",
            "_include": "Slot:schedule",
            "_count": str(PAGE_SIZE),
        }
        async for resource in _search(client, f"{feed.base_url}/Slot", params):
            kind = resource.get("resourceType")
            if kind == "Slot" and isinstance(resource.get("id"), str):
                slots[resource["id"]] = resource
            elif kind == "Schedule" and isinstance(resource.get("id"), str):
                schedules[resource["id"]] = resource
    await _fetch_missing_schedules(session, client, feed, schedules, slots)
    entries = [_entry(i, r) for i, r in enumerate([*schedules.values(), *slots.values()])]
    written = await availability.apply(
        session, feed.organization_id, entries, atomic=False, pulled=True
    )
    await _taken_elsewhere(session, feed.organization_id, set(slots), now, until)
    return written, len(slots)


def _entry(index: int, resource: dict[str, Any]) -> Entry:
    try:
        if resource["resourceType"] == "Schedule":
            return Entry(index, fhir.parse_schedule(resource))
        return Entry(index, fhir.parse_slot(resource))
    except fhir.Invalid as exc:
        return Entry(index, None, tuple(exc.problems))


async def _search(client: httpx.AsyncClient, url: str, params: dict[str, Any]) -> Any:
    """The resources of every page of a search, following `next` links."""
    next_url: str | None = url
    query: dict[str, Any] | None = params
    for _ in range(MAX_PAGES):
        if next_url is None:
            return
        page = await _get_json(client, next_url, query)
        if page.get("resourceType") != "Bundle":
            raise FeedError(f"the Slot search at {url} did not answer a Bundle")
        for entry in page.get("entry") or []:
            if isinstance(entry, dict) and isinstance(entry.get("resource"), dict):
                yield entry["resource"]
        links = page.get("link") or []
        nexts = [
            lk.get("url") for lk in links if isinstance(lk, dict) and lk.get("relation") == "next"
        ]
        next_url = nexts[0] if nexts and isinstance(nexts[0], str) else None
        query = None  # a next link carries its own query
    raise FeedError(f"the Slot search at {url} has more than {MAX_PAGES} pages")


async def _get_json(
    client: httpx.AsyncClient, url: str, params: dict[str, Any] | None
) -> dict[str, Any]:
    r = await client.get(url, params=params, headers={"Accept": fhir.MEDIA_TYPE})
    if r.status_code != 200:
        raise FeedError(f"HTTP {r.status_code} from {url.split('?')[0]}")
    try:
        body = r.json()
    except ValueError:
        raise FeedError(f"{url.split('?')[0]} did not answer JSON") from None
    if not isinstance(body, dict):
        raise FeedError(f"{url.split('?')[0]} did not answer a resource")
    return body


async def _fetch_missing_schedules(
    session: AsyncSession,
    client: httpx.AsyncClient,
    feed: AvailabilityFeed,
    schedules: dict[str, dict[str, Any]],
    slots: dict[str, dict[str, Any]],
) -> None:
    wanted = set()
    for resource in slots.values():
        ref = (resource.get("schedule") or {}).get("reference")
        if isinstance(ref, str) and ref.startswith("Schedule/") and ref[9:] not in schedules:
            wanted.add(ref[9:])
    if not wanted:
        return
    known = set(
        (
            await session.execute(
                select(Schedule.external_id).where(
                    Schedule.organization_id == feed.organization_id,
                    Schedule.external_id.in_(wanted),
                )
            )
        ).scalars()
    )
    for sid in sorted(wanted - known):
        if fhir.FHIR_ID.match(sid):
            schedules[sid] = await _get_json(client, f"{feed.base_url}/Schedule/{sid}", None)


async def _taken_elsewhere(
    session: AsyncSession,
    org_id: uuid.UUID,
    seen: set[str],
    now: dt.datetime,
    until: dt.datetime,
) -> None:
    """Pulled slots still free here but no longer listed free by the server were booked
    there."""
    await session.execute(
        update(Slot)
        .where(
            Slot.organization_id == org_id,
            Slot.pulled,
            Slot.status == "free",
            Slot.start >= now,
            Slot.start < until,
            Slot.external_id.not_in(seen) if seen else Slot.external_id.is_not(None),
        )
        .values(status="busy", version=Slot.__table__.c.version + 1, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
