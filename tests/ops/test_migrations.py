from __future__ import annotations

import asyncio
import uuid

import asyncpg
from sqlalchemy.engine import make_url

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
