from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, status

from app.db import SessionDep
from app.deps import LeadsEraser
from app.idempotency import idempotent
from app.privacy import requests
from app.privacy.schemas import ErasureRequestIn, ErasureRequestList, ErasureRequestOut

router = APIRouter(tags=["privacy"])


@router.post(
    "/v1/erasure-requests", status_code=status.HTTP_201_CREATED, response_model=ErasureRequestOut
)
@idempotent
async def create_erasure_request(
    body: ErasureRequestIn, caller: LeadsEraser, session: SessionDep, request: Request
) -> ErasureRequestOut:
    """Record a person's verified request to erase their data and erase every lead of yours
    with that phone number and/or email address.

    Completed within the request (`status: completed`), or, when it matches many leads,
    queued and completed by the worker shortly after. The record keeps the received,
    verified and completed times and the number of leads erased, no personal data, for
    24 months. Requests must be completed within 45 days of `received_at`."""
    return await requests.create(session, caller, body, request.app.state.settings)


@router.get("/v1/erasure-requests", response_model=ErasureRequestList)
async def list_erasure_requests(
    caller: LeadsEraser,
    session: SessionDep,
    status_: Annotated[
        Literal["queued", "completed", "overdue"] | None, Query(alias="status")
    ] = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> ErasureRequestList:
    """Erasure requests, newest received first; `?status=overdue` lists those not completed
    45 days after they were received."""
    return await requests.list_requests(session, caller, limit=limit, cursor=cursor, status=status_)


@router.get("/v1/erasure-requests/{request_id}", response_model=ErasureRequestOut)
async def get_erasure_request(
    request_id: uuid.UUID, caller: LeadsEraser, session: SessionDep
) -> ErasureRequestOut:
    return await requests.get(session, caller, request_id)
