from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from app.audit import queries
from app.audit import service as audit
from app.audit.schemas import AuditEventList
from app.auth.deps import AdminCaller
from app.db import SessionDep
from app.fields import Instant
from app.leads.models import Lead
from app.reports import csv as report_csv
from app.reports import negotiate
from app.tenancy import get_owned

router = APIRouter(tags=["audit"])

Outcome = Literal["allowed", "refused", "not_found", "error"]
Limit = Annotated[int, Query(ge=1, le=queries.MAX_LIMIT)]
_CSV = {200: {"content": {"text/csv": {}}, "description": "JSON, or CSV with `Accept: text/csv`."}}


def _answer(request: Request, page: AuditEventList, name: str) -> Response:
    headers = {"Vary": "Accept"}
    if negotiate.choose(request.headers.get("accept")) == negotiate.CSV:
        headers["Content-Disposition"] = f'attachment; filename="{name}.csv"'
        if page.next_cursor:
            headers["Link"] = f'<?cursor={page.next_cursor}>; rel="next"'
        body = report_csv.render(queries.csv_rows(page.data), queries.CSV_COLUMNS)
        return Response(body, media_type="text/csv; charset=utf-8", headers=headers)
    return JSONResponse(page.model_dump(mode="json"), headers=headers)


@router.get("/v1/audit-events", response_model=AuditEventList, responses=_CSV)  # type: ignore[arg-type]
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
    return _answer(request, AuditEventList(data=rows, next_cursor=next_cursor), "audit-events")


@router.get(
    "/v1/leads/{lead_id}/access-log",
    response_model=AuditEventList,
    responses=_CSV,  # type: ignore[arg-type]
    tags=["leads"],
)
async def lead_access_log(
    lead_id: uuid.UUID,
    request: Request,
    caller: AdminCaller,
    session: SessionDep,
    from_: Annotated[Instant | None, Query(alias="from")] = None,
    to: Instant | None = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Limit = 100,
) -> Response:
    """Every audited request about this lead (`admin`): reads of it, lists that returned it,
    changes, refusals; with the key, time and IP of each. The answer to "who has seen this
    person's data?" during an incident."""
    lead = await get_owned(session, Lead, lead_id, caller.org_id)
    filters = queries.Filters(target_id=str(lead.id), since=from_, until=to)
    rows, next_cursor = await queries.page(
        session, caller.org_id, filters, limit=limit, cursor=cursor
    )
    return _answer(request, AuditEventList(data=rows, next_cursor=next_cursor), "access-log")
