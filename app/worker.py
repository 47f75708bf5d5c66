"""Background loop. Jobs arrive with later issues (retrieval retries, outbox, SLA sweeps)."""

from __future__ import annotations

import asyncio
import contextlib

import structlog

from app.config import Settings

log = structlog.get_logger("app.worker")


async def run_forever(settings: Settings, stop: asyncio.Event | None = None) -> None:
    stop = stop or asyncio.Event()
    log.info("worker_started")
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), settings.worker_poll_seconds)
    log.info("worker_stopped")
