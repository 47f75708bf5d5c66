"""Floor endpoints for the intake benchmark (bench/bench_intake.py), off unless enabled.

They run in the same server process as intake so the benchmark can report intake's
throughput as a ratio of what this process can do at all (a constant answer) and of the
least a lead endpoint must do (validate the JSON and INSERT one row with asyncpg).
"""

from __future__ import annotations

import asyncio
import json
import uuid

import asyncpg
from asyncpg.pool import PoolConnectionProxy
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from app.db import db
from app.errors import Unprocessable
from app.intake.canonical import CanonicalLead

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
