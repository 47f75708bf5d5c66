from __future__ import annotations

import asyncio
import json
import uuid

import asyncpg
from sqlalchemy.engine import make_url

from app.crypto import cipher
from app.leads.identity import pii_context
from app.ops import migrate


def _dsn(url: str, database: str) -> str:
    u = make_url(url).set(drivername="postgresql", database=database)
    return u.render_as_string(hide_password=False)


async def test_migrations_walk_down_to_base_and_up_again(database_url: str) -> None:
    name = f"lr_migrations_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(_dsn(database_url, "postgres"))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        url = make_url(database_url).set(database=name).render_as_string(hide_password=False)
        await asyncio.to_thread(migrate.upgrade, url, "head")
        await asyncio.to_thread(migrate.downgrade, url, "base")
        conn = await asyncpg.connect(_dsn(database_url, name))
        tables = await conn.fetch(
            "SELECT tablename FROM pg_tables "
            "WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
        )
        await conn.close()
        assert tables == []
        await asyncio.to_thread(migrate.upgrade, url, "head")
        conn = await asyncpg.connect(_dsn(database_url, name))
        version = await conn.fetchval("SELECT version_num FROM alembic_version")
        await conn.close()
        assert version == migrate.head_revision()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def test_the_zip_moves_into_the_encrypted_document_and_back(database_url: str) -> None:
    """0030: a lead stored before keeps its ZIP, encrypted, and the row only its ZIP3."""
    name = f"lr_migrations_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(_dsn(database_url, "postgres"))
    lead_id, org_id = uuid.uuid4(), uuid.uuid4()
    doc = {"first_name": "Ada", "phone": "+13125550100"}
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        url = make_url(database_url).set(database=name).render_as_string(hide_password=False)
        await asyncio.to_thread(migrate.upgrade, url, "0029")
        conn = await asyncpg.connect(_dsn(database_url, name))
        await conn.execute(
            "INSERT INTO organizations (id, name, time_zone) VALUES ($1, 'o', 'America/Chicago')",
            org_id,
        )
        sealed = cipher().encrypt(json.dumps(doc), pii_context(lead_id))
        insert = (
            "INSERT INTO leads (id, organization_id, received_at, last_submitted_at, status,"
            " is_test, channel, normalization_flags, attribution, resubmission_count,"
            " emergency, assessment, routing_trace, do_not_contact, escalation_count,"
            " updated_at, pii, postal_code, state, latitude, longitude)"
            " VALUES ($1, $2, now(), now(), 'new', false, 'api', '{}', '{}', 0, false, '{}',"
            " '{}', '{}', 0, now(), $3, $4, 'IL', 41.92, -87.7)"
        )
        await conn.execute(insert, lead_id, org_id, sealed, "60647")
        await conn.execute(insert, uuid.uuid4(), org_id, None, "82301")  # erased, small area
        await conn.close()

        await asyncio.to_thread(migrate.upgrade, url, "head")
        conn = await asyncpg.connect(_dsn(database_url, name))
        rows = await conn.fetch("SELECT id, zip3, pii FROM leads ORDER BY pii IS NULL")
        columns = await conn.fetch(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'leads'"
            " AND column_name IN ('postal_code', 'latitude', 'longitude')"
        )
        await conn.close()
        assert columns == []
        assert [(r["zip3"], r["pii"] is None) for r in rows] == [("606", False), ("000", True)]
        opened = json.loads(cipher().decrypt(rows[0]["pii"], pii_context(lead_id)))
        assert opened == {**doc, "postal_code": "60647"}

        await asyncio.to_thread(migrate.downgrade, url, "0029")
        conn = await asyncpg.connect(_dsn(database_url, name))
        back = await conn.fetchrow(
            "SELECT postal_code, latitude, longitude FROM leads WHERE id = $1", lead_id
        )
        await conn.close()
        assert back["postal_code"] == "60647" and back["latitude"] and back["longitude"]
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
