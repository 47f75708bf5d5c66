"""The per-process cap on intake requests in progress."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from app.intake.slots import intake_slot
from tests.conftest import make_settings


async def _body() -> bytes:
    return b"{}"  # read (whole) before a slot is taken


def _request(limit: int) -> Any:
    state = SimpleNamespace(settings=make_settings(intake_concurrency=limit))
    return SimpleNamespace(app=SimpleNamespace(state=state), body=_body)


async def _hold(request: Any, entered: list[int], i: int, release: asyncio.Event) -> None:
    async for _ in intake_slot(request):
        entered.append(i)
        await release.wait()


async def test_third_request_waits_for_a_slot_and_gets_it_in_order() -> None:
    request, entered, release = _request(2), [], asyncio.Event()
    tasks = [asyncio.create_task(_hold(request, entered, i, release)) for i in range(4)]
    await asyncio.sleep(0.05)
    assert entered == [0, 1]  # two in progress, two waiting
    release.set()
    await asyncio.wait_for(asyncio.gather(*tasks), 5)
    assert entered == [0, 1, 2, 3]


async def test_zero_means_no_limit() -> None:
    request, entered, release = _request(0), [], asyncio.Event()
    tasks = [asyncio.create_task(_hold(request, entered, i, release)) for i in range(20)]
    await asyncio.sleep(0.05)
    assert len(entered) == 20
    release.set()
    await asyncio.wait_for(asyncio.gather(*tasks), 5)
