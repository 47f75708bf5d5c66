from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import text

from app.db import db
from app.errors import problem
from app.ops.metrics import render
from app.ops.migrate import current_revision

router = APIRouter(tags=["operations"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is alive. Says nothing about the database."""
    return {"status": "ok"}


@router.get("/readyz", response_model=None)
async def readyz(request: Request) -> JSONResponse | dict[str, str | None]:
    """Ready for traffic: the database answers and its schema is at the latest migration."""
    head: str | None = getattr(request.app.state, "migration_head", None)
    try:
        assert db.engine is not None
        async with db.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
            current = await current_revision(conn)
    except Exception:
        return problem(503, "not-ready", "Not ready", "The database is unreachable.", "/readyz")
    if head is not None and current != head:
        return problem(
            503,
            "not-ready",
            "Not ready",
            f"The database schema is at {current}, expected {head}.",
            "/readyz",
        )
    return {"status": "ready", "migration": current}


@router.get("/metrics", include_in_schema=False)
async def metrics() -> Response:
    body, content_type = render()
    return Response(body, media_type=content_type)
