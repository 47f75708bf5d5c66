from __future__ import annotations

import uuid

from fastapi import APIRouter, status

from app.audit import service as audit
from app.auth import service as auth_service
from app.auth.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyList, ApiKeyOut
from app.db import SessionDep
from app.deps import AdminCaller
from app.errors import Unprocessable
from app.idempotency import idempotent

router = APIRouter(prefix="/v1/api-keys", tags=["api keys"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ApiKeyCreated)
@idempotent
async def create_api_key(
    body: ApiKeyCreate, caller: AdminCaller, session: SessionDep
) -> ApiKeyCreated:
    """Create an API key for this organisation. The `key` is returned once and never again."""
    if body.expires_at is not None and body.expires_at.tzinfo is None:
        raise Unprocessable("`expires_at` needs a time zone offset.")
    key, token = await auth_service.create_key(
        session,
        caller.org_id,
        body.name,
        [s.value for s in body.scopes],
        body.expires_at,
        created_by=caller.key_id,
    )
    await audit.record(session, caller, "api_key.create", "api_key", key.id, {"scopes": key.scopes})
    return ApiKeyCreated(**ApiKeyOut.model_validate(key).model_dump(), key=token)


@router.get("", response_model=ApiKeyList)
async def list_api_keys(caller: AdminCaller, session: SessionDep) -> ApiKeyList:
    """Every key of this organisation, revoked ones included. Secrets are never returned."""
    keys = await auth_service.list_keys(session, caller.org_id)
    return ApiKeyList(data=[ApiKeyOut.model_validate(k) for k in keys])


@router.delete("/{key_id}", response_model=ApiKeyOut)
async def revoke_api_key(key_id: uuid.UUID, caller: AdminCaller, session: SessionDep) -> ApiKeyOut:
    """Revoke a key: from this response on, requests with it answer 401."""
    key = await auth_service.revoke_key(session, caller.org_id, key_id)
    await audit.record(session, caller, "api_key.revoke", "api_key", key.id)
    return ApiKeyOut.model_validate(key)
