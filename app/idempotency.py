"""`Idempotency-Key` on every request that creates something (draft-ietf-httpapi-idempotency-
key-header), as one decorator on the endpoint.

Same key and body → the stored answer, with `Idempotent-Replayed: true`; the same key with
another body (or on another route) → 422; the first request still in flight → 409. Keys are
scoped to the API key and kept 24 hours (the daily purge removes expired ones).

The answer is stored in the request's own transaction, so it exists exactly when what the
request created does: a request that fails stores nothing and may be retried. Answers can
carry personal data or a secret shown once, so they are stored encrypted.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import inspect
import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, ParamSpec, TypeVar, cast

from fastapi import Header, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, Response
from pydantic import TypeAdapter
from sqlalchemy import (
    ForeignKey,
    LargeBinary,
    SmallInteger,
    String,
    UniqueConstraint,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column
from starlette.requests import HTTPConnection

from app.auth.service import Caller
from app.crypto import cipher
from app.db import Base, IdMixin, SessionDep, utcnow
from app.deps import CallerDep
from app.errors import Conflict, Unprocessable
from app.tenancy import TenantMixin

TTL = dt.timedelta(hours=24)
MAX_LEN = 255
REPLAYED = "Idempotent-Replayed"


class IdempotencyKey(IdMixin, TenantMixin, Base):
    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("api_key_id", "key"),)

    api_key_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("api_keys.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(64))
    response_status: Mapped[int] = mapped_column(SmallInteger)
    # Answers stored before they were encrypted; new ones go to `response_enc` only.
    response_body: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    # AES-GCM JSON {"media_type", "body"} (app.crypto).
    response_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]


@dataclass(frozen=True)
class Stored:
    status: int
    body: Any
    media_type: str = "application/json"

    def response(self) -> JSONResponse:
        return JSONResponse(
            self.body,
            status_code=self.status,
            media_type=self.media_type,
            headers={REPLAYED: "true"},
        )


def request_hash(method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + body).hexdigest()


def _context(caller: Caller, key: str) -> str:
    return f"idempotency-response:{caller.key_id}:{key}"


async def lookup(session: AsyncSession, caller: Caller, key: str, digest: str) -> Stored | None:
    """The stored answer for this key, or None to go ahead (holding the key until commit)."""
    if not key or len(key) > MAX_LEN:
        raise Unprocessable(
            f"`Idempotency-Key` must be 1 to {MAX_LEN} characters.", type="idempotency-key-invalid"
        )
    # The lock is held to the end of the transaction, which is committed before the
    # response is sent: a second request that can't take it is racing the first.
    got = await session.execute(
        text("SELECT pg_try_advisory_xact_lock(hashtextextended(:k, 0))"),
        {"k": f"idempotency:{caller.key_id}:{key}"},
    )
    if not got.scalar_one():
        raise Conflict(
            "A request with this Idempotency-Key is still being processed.",
            type="idempotency-key-in-flight",
        )
    row = (
        await session.execute(
            select(IdempotencyKey).where(
                IdempotencyKey.api_key_id == caller.key_id,
                IdempotencyKey.key == key,
                IdempotencyKey.expires_at > utcnow(),
            )
        )
    ).scalar_one_or_none()
    if row is None:
        return None
    if row.request_hash != digest:
        raise Unprocessable(
            "This Idempotency-Key was used with a different request.",
            type="idempotency-key-reused",
        )
    if row.response_enc is None:
        return Stored(row.response_status, row.response_body)
    doc = json.loads(cipher().decrypt(row.response_enc, _context(caller, key)))
    return Stored(row.response_status, doc["body"], doc["media_type"])


async def store(
    session: AsyncSession, caller: Caller, key: str, digest: str, answer: Stored
) -> None:
    now = utcnow()
    doc = json.dumps({"media_type": answer.media_type, "body": answer.body})
    values = {
        "request_hash": digest,
        "response_status": answer.status,
        "response_body": None,
        "response_enc": cipher().encrypt(doc, _context(caller, key)),
        "created_at": now,
        "expires_at": now + TTL,
    }
    stmt = insert(IdempotencyKey).values(
        id=uuid.uuid4(), organization_id=caller.org_id, api_key_id=caller.key_id, key=key, **values
    )
    # An expired row with the same key is replaced.
    await session.execute(
        stmt.on_conflict_do_update(index_elements=["api_key_id", "key"], set_=values)
    )


# --- the decorator -------------------------------------------------------------------------

P = ParamSpec("P")
R = TypeVar("R")

_KEY_DOC = (
    "Makes a retry safe: the same key and body within 24 hours answer what the first request "
    "answered (`Idempotent-Replayed: true`) and create nothing; the same key with another body "
    "is 422, and while the first is still being processed 409."
)
# Parameters the wrapper adds to the endpoint's signature, under names no endpoint uses. The
# request comes as the HTTPConnection FastAPI injects apart from a `Request` parameter, which
# the endpoint may have of its own (FastAPI fills one of those per endpoint).
_EXTRA = (
    inspect.Parameter("idem_request__", inspect.Parameter.KEYWORD_ONLY, annotation=HTTPConnection),
    inspect.Parameter("idem_session__", inspect.Parameter.KEYWORD_ONLY, annotation=SessionDep),
    inspect.Parameter("idem_caller__", inspect.Parameter.KEYWORD_ONLY, annotation=CallerDep),
    inspect.Parameter(
        "idem_key__",
        inspect.Parameter.KEYWORD_ONLY,
        default=None,
        annotation=Annotated[
            str | None, Header(alias="Idempotency-Key", max_length=MAX_LEN, description=_KEY_DOC)
        ],
    ),
)


def _answer(request: Request, result: object) -> tuple[Stored, Response]:
    """What the endpoint answered, as stored, and the response to send."""
    if isinstance(result, Response):
        body = json.loads(bytes(result.body)) if result.body else None
        media = (result.media_type or "application/json").split(";")[0]
        return Stored(result.status_code, body, media), result
    route = request.scope.get("route")
    status = getattr(route, "status_code", None) or 200
    model = getattr(route, "response_model", None)
    if model is not None:
        adapter: TypeAdapter[Any] = TypeAdapter(model)
        body = adapter.dump_python(
            adapter.validate_python(result, from_attributes=True), mode="json"
        )
    else:
        body = jsonable_encoder(result)
    stored = Stored(status, body)
    return stored, JSONResponse(body, status_code=status)


def idempotent(endpoint: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """Make a creating endpoint honour `Idempotency-Key` (see the module docstring)."""

    @functools.wraps(endpoint)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        request = kwargs.pop("idem_request__")
        assert isinstance(request, Request)
        session: AsyncSession = kwargs.pop("idem_session__")
        caller: Caller = kwargs.pop("idem_caller__")
        key: str | None = kwargs.pop("idem_key__")
        if key is None:
            return await endpoint(*args, **kwargs)
        digest = request_hash(request.method, request.url.path, await request.body())
        stored = await lookup(session, caller, key, digest)
        if stored is not None:
            return stored.response()
        answer, response = _answer(request, await endpoint(*args, **kwargs))
        await store(session, caller, key, digest, answer)
        return response

    signature = inspect.signature(endpoint)
    params = [p for p in signature.parameters.values() if p.name != "idempotency_key"]
    wrapper.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[*params, *_EXTRA]
    )
    return cast(Callable[P, Awaitable[R]], wrapper)
