"""Pulling free slots from a real FHIR HTTP server on 127.0.0.1, as the worker does."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from app.availability import pull
from app.db import utcnow
from tests.availability.helpers import demo, schedule, sleep_lead, slot, tomorrow_at
from tests.conftest import Org
from tests.intake.helpers import post_lead
from tests.support.http import Recorded, serve


class FhirServer:
    """A scheduler's FHIR R4 server: Slot search (paged, `_include`d Schedules), Schedule read."""

    def __init__(self, far_ref: str) -> None:
        self.far_ref = far_ref
        start = tomorrow_at(13)
        self.slots = [slot(f"p-{i}", "sch-a" if i < 2 else "sch-b", start + dt.timedelta(hours=i))
                      for i in range(3)]  # fmt: skip
        self.schedules = {"sch-a": schedule("sch-a", far_ref), "sch-b": schedule("sch-b", far_ref)}
        self.fail = False
        self.base = ""

    def __call__(self, req: Recorded) -> tuple[int, Any]:
        if self.fail:
            return 503, {"resourceType": "OperationOutcome"}
        url = urlsplit(req.path)
        query = parse_qs(url.query)
        if url.path.startswith("/fhir/Schedule/"):
            return 200, self.schedules[url.path.rsplit("/", 1)[1]]
        assert url.path == "/fhir/Slot", url.path
        if query.get("page") == ["2"]:
            return 200, self._page(self.slots[2:], [])  # sch-b is not included: read by id
        assert query["status"] == ["free"] and query["_include"] == ["Slot:schedule"]
        assert len(query["start"]) == 2 and query["start"][0].startswith("ge")
        if query["schedule.actor"] != [f"Location/{self.far_ref}"]:
            return 200, self._page([], [])
        more = [{"relation": "next", "url": f"{self.base}/Slot?page=2"}] if self.slots[2:] else []
        return 200, self._page(self.slots[:2], [self.schedules["sch-a"]], more)

    def _page(self, slots: list[Any], included: list[Any], links: list[Any] | None = None) -> Any:
        return {
            "resourceType": "Bundle", "type": "searchset", "link": links or [],
            "entry": [{"resource": s, "search": {"mode": "match"}} for s in slots]
            + [{"resource": s, "search": {"mode": "include"}} for s in included],
        }  # fmt: skip


async def test_the_worker_pulls_free_slots_page_by_page_and_follows_the_server(
    client: httpx.AsyncClient, org: Org, session: AsyncSession
) -> None:
    locs = await demo(client, org, session)
    peer = FhirServer(far_ref="naperville-main")
    r = await client.patch(
        f"/v1/locations/{locs['far']}", json={"scheduler_ids": ["naperville-main"]},
        headers=org.headers,
    )  # fmt: skip
    assert r.status_code == 200, r.text
    with serve(peer) as server:
        peer.base = f"{server.url}/fhir"
        r = await client.put(
            "/v1/availability/feed", json={"base_url": peer.base, "poll_minutes": 5},
            headers=org.headers,
        )  # fmt: skip
        assert r.status_code == 200, r.text
        assert await pull.poll_due(session, utcnow()) == 1
        await session.commit()
        paths = [urlsplit(q.path).path for q in server.requests]
        assert paths.count("/fhir/Slot") == 3  # two locations, then page 2
        assert "/fhir/Schedule/sch-b" in paths
        feed = (await client.get("/v1/availability/feed", headers=org.headers)).json()
        assert (feed["last_slot_count"], feed["last_error"]) == (3, None)

        answer = (await post_lead(client, org, sleep_lead(1))).json()
        assert answer["location_id"] == locs["far"]
        assert [s["id"] for s in answer["offered_slots"]] == ["p-0", "p-1", "p-2"]

        # Booked at the scheduler: no longer listed free, so no longer offered here.
        peer.slots = peer.slots[1:]
        assert await pull.poll_due(session, utcnow()) == 0  # not due for 5 minutes
        assert await pull.poll_due(session, utcnow() + dt.timedelta(minutes=6)) == 1
        await session.commit()
        read = (await client.get("/v1/fhir/Slot/p-0", headers=org.headers)).json()
        assert read["status"] == "busy"
        packet = (await client.get(f"/v1/handoffs/{answer['lead_id']}", headers=org.headers)).json()
        assert [s["id"] for s in packet["offered_slots"]] == ["p-1", "p-2"]

        # A failing server is recorded on the feed and changes nothing.
        peer.fail = True
        assert await pull.poll_due(session, utcnow() + dt.timedelta(minutes=12)) == 1
        await session.commit()
        feed = (await client.get("/v1/availability/feed", headers=org.headers)).json()
        assert feed["last_error"].startswith("HTTP 503")
        read = (await client.get("/v1/fhir/Slot/p-1", headers=org.headers)).json()
        assert read["status"] == "free"
