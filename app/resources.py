"""What the configuration APIs (practice, routing, webhook subscriptions) share over HTTP: the
audit rows of a change and a deletion, and a deletion's empty answer. Their list answer is
`app.fields.DataList`."""

from __future__ import annotations

import uuid

from fastapi import Response, status
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import service as audit
from app.auth.service import Caller


def changed(body: BaseModel) -> list[str]:
    """The fields a PATCH sent (only those change), by name: what its audit row records."""
    return sorted(body.model_fields_set)


async def record_change(
    session: AsyncSession,
    caller: Caller,
    action: str,
    target_type: str,
    target_id: uuid.UUID,
    fields: list[str],
) -> None:
    await audit.record(session, caller, action, target_type, target_id, {"fields": fields})


async def deleted(
    session: AsyncSession, caller: Caller, action: str, target_type: str, target_id: uuid.UUID
) -> Response:
    """The deletion audited; its answer, 204 with no body."""
    await audit.record(session, caller, action, target_type, target_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
