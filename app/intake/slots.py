"""How many intake requests a process works on at once.

A lead holds its team's rotation row lock from routing to commit, and every other lead for
that team waits on it. In one event loop, that lead's remaining steps also wait behind every
other request the process is running; with 16 leads in flight, each of its awaits queues
behind up to 15 others, and the lock is held for as long. Admitting a few at a time (the rest
wait here, in arrival order, holding no connection and no lock) keeps the holder moving.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request


async def intake_slot(request: Request) -> AsyncIterator[None]:
    # The body first: a sender that sends it slowly then holds its own connection, not one
    # of the process's few slots (nor, the session coming after, a database connection).
    await request.body()
    limit: int = request.app.state.settings.intake_concurrency
    if limit <= 0:
        yield
        return
    state = request.app.state
    slots: asyncio.Semaphore | None = getattr(state, "intake_slots", None)
    if slots is None:
        slots = state.intake_slots = asyncio.Semaphore(limit)
    async with slots:
        yield


# Declared before the session: dependencies end in reverse order, so the slot is released
# after the session has committed.
IntakeSlot = Annotated[None, Depends(intake_slot, scope="function")]
