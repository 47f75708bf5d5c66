from __future__ import annotations

import asyncio

import structlog
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import db, utcnow
from app.errors import problem
from app.ops.metrics import ERASURE_OVERDUE, render
from app.ops.migrate import current_revision
from app.privacy import requests as erasure_requests

router = APIRouter(tags=["operations"])
log = structlog.get_logger("app.ops")
READY_TIMEOUT = 2.0


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is alive. Says nothing about the database."""
    return {"status": "ok"}


@router.get("/readyz", response_model=None)
async def readyz(request: Request) -> JSONResponse | dict[str, str | None]:
    """Ready for traffic: the database answers and its schema is at the latest migration."""
    head: str | None = getattr(request.app.state, "migration_head", None)
    retry = {"Retry-After": "1"}
    try:
        assert db.engine is not None
        # A database that does not answer is as unready as one that refuses.
        async with asyncio.timeout(READY_TIMEOUT), db.engine.connect() as conn:
            current = await current_revision(conn)
    except Exception:
        detail = "The database is unreachable."
        return problem(503, "not-ready", "Not ready", detail, "/readyz", headers=retry)
    if head is not None and current != head:
        detail = f"The database schema is at {current}, expected {head}."
        return problem(503, "not-ready", "Not ready", detail, "/readyz", headers=retry)
    return {"status": "ready", "migration": current}


@router.get("/metrics", include_in_schema=False)
async def metrics() -> Response:
    await _read_gauges()
    body, content_type = render()
    return Response(body, media_type=content_type)


async def _read_gauges() -> None:
    """Figures kept in the database, read at scrape time; a database that does not answer
    leaves the last value (the scrape itself must still work)."""
    if db.engine is None:
        return
    try:
        async with asyncio.timeout(2), AsyncSession(db.engine) as session:
            ERASURE_OVERDUE.set(await erasure_requests.overdue_count(session, utcnow()))
    except Exception as exc:
        log.warning("metrics_gauges_unread", error_type=type(exc).__name__)
