from __future__ import annotations

import hmac
import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.responses import JSONResponse, PlainTextResponse

from app import pagination
from app.audit import service as audit
from app.crypto import keyed_hash
from app.db import SessionDep
from app.deps import AdminCaller
from app.errors import PROBLEM_JSON, Forbidden
from app.idempotency import REPLAYED, idempotent
from app.intake import flow, sources
from app.intake import service as intake_service
from app.intake.adapters.base import RawDelivery
from app.intake.models import InboxDelivery
from app.intake.schemas import (
    InboxList,
    InboxOut,
    SourceCreate,
    SourceList,
    SourceOut,
    SourcePatch,
)
from app.intake.slots import IntakeSlot
from app.leads.models import Source
from app.ratelimit import webhook_limiter
from app.tenancy import get_owned, scoped

router = APIRouter(tags=["intake"])
INBOX_CURSOR = "inbox"


def _answer(answer: intake_service.Answer) -> JSONResponse:
    media = PROBLEM_JSON if answer.status >= 400 else "application/json"
    headers = {REPLAYED: "true"} if answer.replayed else None
    return JSONResponse(answer.body, status_code=answer.status, media_type=media, headers=headers)


@router.post("/v1/sources", status_code=status.HTTP_201_CREATED, response_model=SourceOut)
@idempotent
async def create_source(
    body: SourceCreate, caller: AdminCaller, session: SessionDep, request: Request
) -> SourceOut:
    """Create a lead source. Give its `webhook_url` to the sender; secrets are write-only."""
    source = await sources.create(session, caller.org_id, body)
    await audit.record(session, caller, "source.create", "source", source.id, {"kind": body.kind})
    return sources.to_out(source, request.app.state.settings)


@router.get("/v1/sources", response_model=SourceList)
async def list_sources(caller: AdminCaller, session: SessionDep, request: Request) -> SourceList:
    """Every source of this organisation."""
    rows = await sources.list_sources(session, caller.org_id)
    return SourceList(data=[sources.to_out(s, request.app.state.settings) for s in rows])


@router.get("/v1/sources/{source_id}", response_model=SourceOut)
async def get_source(
    source_id: uuid.UUID, caller: AdminCaller, session: SessionDep, request: Request
) -> SourceOut:
    """One source; secrets are shown only as `{"set": true}`."""
    source = await get_owned(session, Source, source_id, caller.org_id)
    return sources.to_out(source, request.app.state.settings)


@router.patch("/v1/sources/{source_id}", response_model=SourceOut)
async def update_source(
    source_id: uuid.UUID,
    body: SourcePatch,
    caller: AdminCaller,
    session: SessionDep,
    request: Request,
) -> SourceOut:
    """Change a source. `settings` are merged: omit a secret to keep it, send it to rotate it."""
    source = await sources.update(session, caller.org_id, source_id, body)
    await audit.record(
        session,
        caller,
        "source.update",
        "source",
        source.id,
        {"fields": sorted(body.model_dump(exclude_unset=True))},
    )
    return sources.to_out(source, request.app.state.settings)


@router.get("/v1/inbox", response_model=InboxList)
async def list_inbox(
    caller: AdminCaller,
    session: SessionDep,
    status_: Annotated[str | None, Query(alias="status")] = None,
    source_id: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> InboxList:
    """Raw deliveries, newest first; `?status=quarantined` lists what needs attention.
    Pass `next_cursor` back as `cursor` (with the same filters) for older deliveries."""
    stmt = scoped(InboxDelivery, caller.org_id)
    if status_:
        stmt = stmt.where(InboxDelivery.status == status_)
    if source_id:
        stmt = stmt.where(InboxDelivery.source_id == source_id)
    if cursor:
        at, key = pagination.decode(INBOX_CURSOR, cursor, uuid.UUID)
        stmt = stmt.where(pagination.older(InboxDelivery.received_at, InboxDelivery.id, at, key))
    stmt = stmt.order_by(InboxDelivery.received_at.desc(), InboxDelivery.id.desc())
    rows = list((await session.execute(stmt.limit(limit + 1))).scalars())
    page, more = rows[:limit], len(rows) > limit
    audit.note(caller, None, ids=[str(r.id) for r in page])
    # `more` means the page is full, so it has a last row.
    next_cursor = (
        pagination.encode(INBOX_CURSOR, page[-1].received_at, page[-1].id) if more else None
    )
    return InboxList(data=[InboxOut.model_validate(r) for r in page], next_cursor=next_cursor)


@router.post("/v1/inbox/{inbox_id}/replay")
@idempotent
async def replay_inbox(
    inbox_id: uuid.UUID, caller: AdminCaller, session: SessionDep
) -> JSONResponse:
    """Process a quarantined delivery again with the source's current mapping."""
    answer = await flow.replay(session, caller.org_id, inbox_id)
    await audit.record(
        session,
        caller,
        "inbox.replay",
        "inbox_delivery",
        inbox_id,
        {"status": answer.body.get("status", "quarantined")},
    )
    return _answer(answer)


def _raw(request: Request, body: bytes) -> RawDelivery:
    # The URL as the sender knows it (behind a proxy, the public base URL's host and path).
    url = request.app.state.settings.public_base_url.rstrip("/") + request.url.path
    if request.url.query:
        url = f"{url}?{request.url.query}"
    return RawDelivery(
        body=body,
        content_type=request.headers.get("content-type", ""),
        headers=dict(request.headers),
        query=dict(request.query_params),
        url=url,
    )


@router.post("/v1/webhooks/{source_id}", tags=["webhooks"])
async def receive_webhook(
    source_id: str, request: Request, _slot: IntakeSlot, session: SessionDep
) -> JSONResponse:
    """The URL given to a sender. Authenticated by the sender's own scheme (see the source
    kind); the raw delivery is stored with its answer and its leads, and a redelivery (the
    same sender event id: `webhook-id`, else the sender's own id) answers like the first, with
    `Idempotent-Replayed: true`. Unauthenticated deliveries get 401 and store nothing."""
    source = await sources.get_public(session, source_id)
    webhook_limiter.hit(str(source.id), request.app.state.settings.webhook_rate_limit_per_minute)
    body = await request.body()
    return _answer(await flow.receive_delivery(session, source, _raw(request, body)))


@router.get("/v1/webhooks/{source_id}", tags=["webhooks"], response_model=None)
async def verify_webhook(source_id: str, request: Request, session: SessionDep) -> Response:
    """Meta's subscription handshake: echoes `hub.challenge` when `hub.verify_token` matches."""
    source = await sources.get_public(session, source_id)
    q = request.query_params
    if source.kind != "meta_lead_ads":
        raise Forbidden("This source has no subscription handshake.")
    expected = sources.secret_settings(source).get("verify_token", "")
    given = q.get("hub.verify_token", "")
    if q.get("hub.mode") != "subscribe" or not hmac.compare_digest(
        keyed_hash("verify", given), keyed_hash("verify", expected)
    ):
        raise Forbidden("Verification token mismatch.")
    return PlainTextResponse(q.get("hub.challenge", ""))
