"""The delivery worker's statements, sent straight through asyncpg (app.direct): a worker
runs them on every attempt."""

from __future__ import annotations

from sqlalchemy import bindparam, null, select, update

from app.direct import Direct
from app.outbox.models import WebhookDelivery, WebhookMessage, WebhookSubscription

_D, _S, _M = WebhookDelivery, WebhookSubscription, WebhookMessage
_WHERE = (_D.id == bindparam("id"), _D.organization_id == bindparam("org"))
# The delivery is locked, skipping one another worker holds; the subscription is not, so
# deliveries to one endpoint go out in parallel. One statement: a worker runs it per job.
LOCK = Direct(
    select(_D.id, _D.organization_id, _D.status, _D.next_attempt_at, _D.attempts,
           _D.redeliveries, _D.webhook_id, _S.id, _S.url, _S.secret_enc, _S.active, _M.payload)
    .join(_S, _S.id == _D.subscription_id)
    .join(_M, _M.id == _D.message_id)
    .where(*_WHERE)
    .with_for_update(of=_D, skip_locked=True)
)  # fmt: skip
EXISTS = Direct(select(_D.id).where(*_WHERE))
RECORD = Direct(
    update(_D)
    .where(*_WHERE)
    .values({c: bindparam(c) for c in ("status", "attempts", "last_attempt_at",
                                       "last_status_code", "last_error", "next_attempt_at",
                                       "delivered_at")})
)  # fmt: skip
ABANDON = Direct(
    update(_D)
    .where(*_WHERE)
    .values(status="dead", next_attempt_at=null(), last_error=bindparam("error"))
)
DISABLE = Direct(
    update(_S)
    .where(_S.id == bindparam("id"), _S.organization_id == bindparam("org"))
    .values(active=False, disabled_reason=bindparam("reason"), updated_at=bindparam("at"))
)
