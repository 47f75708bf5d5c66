"""Shared helpers for the privacy tests: a person with data unique to the test."""

from __future__ import annotations

import datetime as dt
import json
import random
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from app.signatures import generate_whsec, sign_standard_webhook
from tests.conftest import Org
from tests.intake.helpers import api_lead, create_source

# Illinois area codes, like the demo practice's, that neither the demo history nor other tests
# use: a scan of the whole database finds no one else's lead under this person's number.
PERSON_AREAS = ("309", "618", "447", "464", "730")


@dataclass(frozen=True)
class Person:
    first: str
    last: str
    phone: str  # E.164
    email: str
    reason: str
    custom: str

    @classmethod
    def new(cls) -> Person:
        tag = uuid.uuid4().hex[:10]
        digits = f"{random.randint(0, 9999):04d}"
        return cls(
            first=f"Quintessa{tag[:5]}",
            last=f"Vandermolen{tag[5:]}",
            phone=f"+1{random.choice(PERSON_AREAS)}555{digits}",
            email=f"erase.me.{tag}@example.org",
            reason=f"Sharp pain in the left knee since the marathon {tag}",
            custom=f"Heard of you from my neighbour Bartholomew {tag}",
        )

    def lead(self, **overrides: Any) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "external_id": f"ext-{self.email}",
            "first_name": self.first,
            "last_name": self.last,
            "phone": f"({self.phone[2:5]}) {self.phone[5:8]}-{self.phone[8:]}",
            "email": self.email,
            "reason": self.reason,
            "custom": {"how_did_you_hear": self.custom},
        }
        return api_lead(**{**fields, **overrides})

    @property
    def needles(self) -> list[str]:
        """What must not survive erasure, in the forms it may take."""
        return [self.first, self.last, self.email, self.phone, self.phone[2:], self.reason,
                self.custom]  # fmt: skip


def today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


async def webhook_source(client: httpx.AsyncClient, org: Org) -> tuple[str, str]:
    secret = generate_whsec()
    source = await create_source(client, org, "web_form", {"secrets": [secret]})
    return str(source["webhook_url"]).removeprefix("http://testserver"), secret


async def deliver(
    client: httpx.AsyncClient, path: str, secret: str, body: dict[str, Any]
) -> httpx.Response:
    raw = json.dumps(body).encode()
    msg_id = f"msg_{uuid.uuid4().hex}"
    ts = int(time.time())
    headers = {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(ts),
        "webhook-signature": sign_standard_webhook(msg_id, ts, raw, secret),
    }
    return await client.post(path, content=raw, headers=headers)
