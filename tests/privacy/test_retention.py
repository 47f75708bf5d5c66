"""The retention purge through its command, `lead-router purge [--dry-run]`, on the test
database: what it lists, that the dry run changes nothing, and that the run does it once."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.config import Settings
from app.crypto import cipher
from app.privacy import retention
from app.privacy.retention import Cutoffs
from tests.conftest import Org
from tests.privacy.helpers import Person, deliver, webhook_source

# Ten years, so that nothing another test left behind is old enough.
RETENTION_DAYS = 3650
OLD = RETENTION_DAYS + 30


def purge(database_url: str, *flags: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEAD_ROUTER_")}
    env.update(
        LEAD_ROUTER_ENVIRONMENT="test",
        LEAD_ROUTER_LOG_LEVEL="WARNING",
        LEAD_ROUTER_DATABASE_URL=database_url,
        LEAD_ROUTER_LEAD_RETENTION_DAYS=str(RETENTION_DAYS),
    )
    out = subprocess.run(
        [sys.executable, "-m", "app.cli", "purge", *flags],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


async def _age(engine: AsyncEngine, lead_id: str, days: int) -> None:
    """The lead, its submissions and their deliveries as if they arrived `days` ago."""
    async with engine.begin() as conn:
        params = {"d": days, "id": uuid.UUID(lead_id)}
        for sql in (
            "UPDATE leads SET received_at = now() - make_interval(days => :d),"
            " last_submitted_at = now() - make_interval(days => :d) WHERE id = :id",
            "UPDATE inbox_deliveries SET received_at = now() - make_interval(days => :d)"
            " WHERE id IN (SELECT inbox_id FROM lead_submissions WHERE lead_id = :id)",
            "UPDATE lead_submissions SET received_at = now() - make_interval(days => :d)"
            " WHERE lead_id = :id",
        ):
            await conn.execute(text(sql), params)


async def _expired_consent_event(engine: AsyncEngine, org: Org) -> uuid.UUID:
    """A consent event whose 5-year hold ended yesterday (inserted: the table is
    append-only)."""
    event_id = uuid.uuid4()
    captured = dt.datetime.now(dt.UTC) - dt.timedelta(days=5 * 366 + 1)
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO consent_events (id, organization_id, channel, purpose, decision,"
                " origin, evidence, captured_at, created_at, retain_until) VALUES"
                " (:id, :org, 'sms', 'scheduling', 'granted', 'lead', :ev, :at, :at,"
                " now() - interval '1 day')"
            ),
            {"id": event_id, "org": org.id, "at": captured,
             "ev": cipher().encrypt("{}", f"consent-evidence:{event_id}")},
        )  # fmt: skip
    return event_id


async def _row(engine: AsyncEngine, sql: str, **params: Any) -> Any:
    async with engine.connect() as conn:
        return (await conn.execute(text(sql), params)).first()


async def test_purge_dry_run_lists_then_the_run_erases_once(
    client: httpx.AsyncClient,
    org: Org,
    engine: AsyncEngine,
    database_url: str,
) -> None:
    path, secret = await webhook_source(client, org)
    ids = {}
    for name in ("inactive", "read", "called", "recent"):
        r = await deliver(client, path, secret, Person.new().lead())
        assert r.status_code == 200, r.text
        ids[name] = r.json()["leads"][0]["lead_id"]
    for name in ("inactive", "read", "called"):
        await _age(engine, ids[name], OLD)
    # activity since: a read of one, a call from the other
    assert (await client.get(f"/v1/leads/{ids['read']}", headers=org.headers)).status_code == 200
    r = await client.post(
        f"/v1/leads/{ids['called']}/contact-attempts",
        json={"channel": "voice", "direction": "inbound", "outcome": "connected"},
        headers=org.headers,
    )
    assert r.status_code == 201, r.text
    # a delivery that could not be processed, 60 days old: kept for a replay (90 days)
    r = await deliver(client, path, secret, {"not": "a lead"})
    quarantined = r.json()["inbox_id"]
    async with engine.begin() as conn:
        await conn.execute(
            text("UPDATE inbox_deliveries SET received_at = now() - interval '60 days'"
                 " WHERE id = :id"),
            {"id": uuid.UUID(quarantined)},
        )  # fmt: skip
    expired_event = await _expired_consent_event(engine, org)
    inbox_of = (
        "SELECT d.body IS NOT NULL FROM inbox_deliveries d JOIN lead_submissions s"
        " ON s.inbox_id = d.id WHERE s.lead_id = :id"
    )

    dry = purge(database_url, "--dry-run")
    listed = {line.split()[-1] for line in dry.splitlines() if line.strip().startswith("lead ")}
    assert ids["inactive"] in listed, dry
    assert not listed & {ids["read"], ids["called"], ids["recent"]}, dry
    assert "would erase" in dry and "consent events past their legal hold: would delete" in dry
    # nothing changed (read in SQL: a read through the API is activity)
    erased = "SELECT erased_at, pii IS NOT NULL FROM leads WHERE id = :id"
    assert tuple(await _row(engine, erased, id=uuid.UUID(ids["inactive"]))) == (None, True)
    assert (await _row(engine, inbox_of, id=uuid.UUID(ids["inactive"])))[0] is True
    assert await _row(engine, "SELECT 1 FROM consent_events WHERE id = :id", id=expired_event)

    done = purge(database_url)
    assert ids["inactive"] in done and "erased" in done, done
    got = (await client.get(f"/v1/leads/{ids['inactive']}", headers=org.headers)).json()
    assert got["erased_at"] and got["contact"] == {}
    for name in ("read", "called", "recent"):
        kept = (await client.get(f"/v1/leads/{ids[name]}", headers=org.headers)).json()
        assert kept["erased_at"] is None and kept["contact"], name
    # the old raw bodies are gone; the quarantined one is kept for its replay
    assert (await _row(engine, inbox_of, id=uuid.UUID(ids["read"])))[0] is False
    assert (await _row(engine, inbox_of, id=uuid.UUID(ids["recent"])))[0] is True
    body = "SELECT body IS NOT NULL, body_dropped_at FROM inbox_deliveries WHERE id = :id"
    assert tuple(await _row(engine, body, id=uuid.UUID(quarantined))) == (True, None)
    assert await _row(engine, "SELECT 1 FROM consent_events WHERE id = :id", id=expired_event) is (
        None
    )

    # idempotent: a second run has nothing of this test left to do
    again = purge(database_url)
    assert ids["inactive"] not in again


async def test_the_purge_deletes_finished_jobs_past_their_retention(
    engine: AsyncEngine, database_url: str
) -> None:
    """Each lead queues jobs; once finished for `job_retention_days` (14) they go, whether
    done or dead; a queued job waits however old it is."""
    made = {}
    async with engine.begin() as conn:
        for name, status, finished_days in (
            ("old_done", "done", 20), ("old_dead", "dead", 20), ("recent_done", "done", 2),
            ("old_queued", "queued", None),
        ):  # fmt: skip
            made[name] = (
                await conn.execute(
                    text(
                        "INSERT INTO jobs (kind, payload, status, run_at, attempts,"
                        " max_attempts, created_at, finished_at) VALUES ('test.retention',"
                        " '{}', :status, now(), 1, 12, now() - interval '30 days',"
                        " now() - make_interval(days => :d)) RETURNING id"
                    ),
                    {"status": status, "d": finished_days},
                )
            ).scalar_one()
    left = "SELECT count(*) FROM jobs WHERE id = :id"
    dry = purge(database_url, "--dry-run")
    assert "finished jobs past their retention: would delete" in dry, dry
    for i in made.values():
        assert (await _row(engine, left, id=i))[0] == 1

    done = purge(database_url)
    assert "finished jobs past their retention: deleted" in done, done
    kept = set()
    for name, i in made.items():
        if (await _row(engine, left, id=i))[0]:
            kept.add(name)
    assert kept == {"recent_done", "old_queued"}


@pytest.mark.parametrize(
    ("env", "lead", "inbox"),
    [({}, 730, 30), ({"LEAD_ROUTER_LEAD_RETENTION_DAYS": "400"}, 400, 30),
     ({"LEAD_ROUTER_INBOX_RETENTION_DAYS": "7"}, 730, 7)],
)  # fmt: skip
def test_retention_settings(
    env: dict[str, str], lead: int, inbox: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    now = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
    cut = Cutoffs.of(Settings(), now)
    assert (now - cut.lead).days == lead and (now - cut.inbox).days == inbox
    assert (now - cut.quarantine).days == 90


@pytest.mark.parametrize(
    ("now", "next_run"),
    [
        (dt.datetime(2026, 6, 1, 1, 0, tzinfo=dt.UTC), dt.datetime(2026, 6, 1, 3, tzinfo=dt.UTC)),
        (dt.datetime(2026, 6, 1, 3, 0, tzinfo=dt.UTC), dt.datetime(2026, 6, 2, 3, tzinfo=dt.UTC)),
        (dt.datetime(2026, 6, 1, 17, 5, tzinfo=dt.UTC), dt.datetime(2026, 6, 2, 3, tzinfo=dt.UTC)),
    ],
)
def test_the_purge_runs_daily_at_three(now: dt.datetime, next_run: dt.datetime) -> None:
    assert retention._next_run(now) == next_run
