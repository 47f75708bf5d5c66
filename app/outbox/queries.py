"""The outbox's statements, sent straight through asyncpg (app.direct): every event of every
lead writes its rows with them, one statement per table."""

from __future__ import annotations

from sqlalchemy import bindparam, insert

from app.direct import Direct
from app.outbox.models import LeadEvent, WebhookDelivery, WebhookMessage

TIMELINE = Direct(
    insert(LeadEvent).values(
        {c: bindparam(c) for c in ("organization_id", "lead_id", "type", "data", "occurred_at")}
    )
)
MESSAGE = Direct(
    insert(WebhookMessage).values(
        {c: bindparam(c) for c in ("id", "organization_id", "event_type", "lead_id", "payload",
                                   "created_at")}
    )
)  # fmt: skip
DELIVERY = Direct(
    insert(WebhookDelivery).values(
        {c: bindparam(c) for c in ("id", "organization_id", "message_id", "subscription_id",
                                   "webhook_id", "event_type", "status", "attempts",
                                   "redeliveries", "next_attempt_at", "created_at")}
    )
)  # fmt: skip
