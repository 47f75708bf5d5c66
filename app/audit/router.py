from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response

from app.audit import queries
from app.audit import service as audit
from app.audit.schemas import AuditEventList
from app.db import SessionDep
from app.deps import AdminCaller
from app.fields import Instant
from app.reports import negotiate

router = APIRouter(tags=["audit"])

Outcome = Literal["allowed", "refused", "not_found", "error"]
Limit = Annotated[int, Query(ge=1, le=queries.MAX_LIMIT)]


@router.get("/v1/audit-events", response_model=AuditEventList, responses=negotiate.CSV_DOC)
async def list_audit_events(
    request: Request,
    caller: AdminCaller,
    session: SessionDep,
    target_type: Annotated[str | None, Query(max_length=64)] = None,
    target_id: Annotated[
        str | None,
        Query(
            max_length=64,
            description="Rows about this id, and list reads that returned it (`details.ids`).",
        ),
    ] = None,
    actor_key_id: uuid.UUID | None = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
    outcome: Outcome | None = None,
    from_: Annotated[Instant | None, Query(alias="from", description="Inclusive.")] = None,
    to: Annotated[Instant | None, Query(description="Exclusive.")] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Limit = 100,
) -> Response:
    """Who read or changed what, when, from where (IP), and how it ended, newest first
    (`admin`). Every API request that reads, creates, changes or exports personal data, or
    tries to, leaves one row: refusals (403, 422) and ids that are not yours (404) included.
    `Accept: text/csv` exports the page as CSV (the next page's cursor in `Link`). Reading
    the trail is itself audited."""
    filters = queries.Filters(
        target_type=target_type,
        target_id=target_id,
        actor_key_id=actor_key_id,
        action=action,
        outcome=outcome,
        since=from_,
        until=to,
    )
    rows, next_cursor = await queries.page(
        session, caller.org_id, filters, limit=limit, cursor=cursor
    )
    audit.note(caller, None, filters={k: str(v) for k, v in vars(filters).items() if v})
    page = AuditEventList(data=rows, next_cursor=next_cursor)
    return negotiate.answer(
        request,
        page,
        queries.csv_rows,
        "audit-events",
        queries.CSV_COLUMNS,
        next_cursor=next_cursor,
    )
