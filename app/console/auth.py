"""Signing people in to the console with their own API key, and CSRF tokens for every form.

The session cookie carries only the id of a `console_sessions` row, signed with the secret
key. Every request loads that row with its API key, so signing out, idle expiry and revoking
(or the expiry of) the key end the session at the next request.
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
import uuid
from typing import Annotated

from fastapi import Depends, Form, Request
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import service as audit
from app.auth import service as auth_service
from app.auth.models import ApiKey
from app.auth.scopes import Scope
from app.auth.service import Caller
from app.config import Settings
from app.console.models import ConsoleSession
from app.db import SessionDep, utcnow
from app.deps import client_ip
from app.errors import AppError
from app.ratelimit import api_limiter

SESSION_COOKIE = "lr_console"
LOGIN_COOKIE = "lr_console_login"
# Writing last_seen_at on every page would turn each read into a write.
LAST_SEEN_RESOLUTION = dt.timedelta(minutes=1)


class SignInRequired(AppError):
    status, type, title = 401, "sign-in-required", "Sign in to continue"


class CsrfRefused(AppError):
    status, type, title = 403, "csrf-token-missing", "Form refused"


class ScopeMissing(AppError):
    status, type, title = 403, "forbidden", "Not allowed"


def _serializer(settings: Settings, purpose: str) -> URLSafeSerializer:
    return URLSafeSerializer(settings.secret_key, salt=f"lead-router-console-{purpose}")


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def cookie_options(settings: Settings) -> dict[str, object]:
    return {
        "httponly": True,
        "secure": settings.environment != "development",
        "samesite": "lax",
        "path": "/console",
    }


def csrf_token(settings: Settings, session_id: uuid.UUID) -> str:
    return hmac.new(
        settings.secret_key.encode(), f"console-csrf:{session_id}".encode(), "sha256"
    ).hexdigest()


# --- the sign-in form's own token, before there is a session --------------------------------


def login_nonce(request: Request) -> tuple[str, str | None]:
    """(the nonce the form must echo, a signed cookie to set when it is new)."""
    serializer = _serializer(_settings(request), "login")
    raw = request.cookies.get(LOGIN_COOKIE)
    if raw:
        try:
            return str(serializer.loads(raw)), None
        except BadSignature:
            pass
    nonce = secrets.token_urlsafe(24)
    return nonce, serializer.dumps(nonce)


def check_login_nonce(request: Request, token: str | None) -> None:
    raw = request.cookies.get(LOGIN_COOKIE)
    try:
        expected = str(_serializer(_settings(request), "login").loads(raw)) if raw else None
    except BadSignature:
        expected = None
    if not token or expected is None or not hmac.compare_digest(token, expected):
        raise CsrfRefused("The form's security token is missing or stale: reload and try again.")


async def sign_in(
    request: Request, session: AsyncSession, api_key: str
) -> tuple[ConsoleSession, str]:
    """A new console session for a valid key, and the signed cookie value naming it."""
    key = await auth_service.authenticate(session, api_key.strip())
    row = ConsoleSession(
        id=uuid.uuid4(), organization_id=key.organization_id, api_key_id=key.id,
        last_seen_at=utcnow(),
    )  # fmt: skip
    session.add(row)
    await session.flush()
    caller = _caller(request, key)
    await audit.record(session, caller, "console.sign_in", "console_session", row.id)
    return row, _serializer(_settings(request), "session").dumps(str(row.id))


async def sign_out(session: AsyncSession, signed_in: SignedIn) -> None:
    await session.execute(
        update(ConsoleSession)
        .where(ConsoleSession.id == signed_in.session_id)
        .values(ended_at=utcnow())
    )
    await audit.record(
        session, signed_in.caller, "console.sign_out", "console_session", signed_in.session_id
    )


# --- who is signed in ---------------------------------------------------------------------


class SignedIn:
    """The person behind a console request: their key as a `Caller`, and their session."""

    def __init__(self, caller: Caller, row: ConsoleSession, csrf: str) -> None:
        self.caller = caller
        self.session_id = row.id
        self.member_id = row.member_id
        self.csrf = csrf

    def may(self, scope: Scope) -> bool:
        return self.caller.has(scope)

    def require(self, *scopes: Scope) -> None:
        missing = [s.value for s in scopes if not self.caller.has(s)]
        if missing:
            raise ScopeMissing(
                "Your API key does not let you see this page: it needs the "
                + " and ".join(f"`{m}`" for m in missing)
                + " scope. Ask an admin for a key with it."
            )


def _caller(request: Request, key: ApiKey) -> Caller:
    return Caller(
        org_id=key.organization_id,
        key_id=key.id,
        scopes=frozenset(key.scopes),
        request_id=getattr(request.state, "request_id", None),
        client_ip=client_ip(request),
    )


_BY_ID = select(ConsoleSession, ApiKey).join(ApiKey, ApiKey.id == ConsoleSession.api_key_id)


async def _end(session: AsyncSession, row: ConsoleSession, now: dt.datetime) -> None:
    await session.execute(
        update(ConsoleSession).where(ConsoleSession.id == row.id).values(ended_at=now)
    )
    # Committed even though the request then fails: the session stays ended.
    await session.commit()


async def current(request: Request, session: SessionDep) -> SignedIn:
    settings = _settings(request)
    raw = request.cookies.get(SESSION_COOKIE)
    if not raw:
        raise SignInRequired("Sign in with your API key.")
    try:
        session_id = uuid.UUID(str(_serializer(settings, "session").loads(raw)))
    except (BadSignature, ValueError):
        raise SignInRequired("Sign in with your API key.") from None
    found = (await session.execute(_BY_ID.where(ConsoleSession.id == session_id))).one_or_none()
    if found is None or found[0].ended_at is not None:
        raise SignInRequired("You were signed out. Sign in again.")
    row, key = found
    now = utcnow()
    if key.revoked_at is not None or (key.expires_at is not None and key.expires_at <= now):
        await _end(session, row, now)
        raise SignInRequired("Your API key was revoked or has expired. Sign in with a valid key.")
    if now - row.last_seen_at > dt.timedelta(hours=settings.console_idle_hours):
        await _end(session, row, now)
        raise SignInRequired("You were signed out after a period without activity.")
    if now - row.last_seen_at > LAST_SEEN_RESOLUTION:
        await session.execute(
            update(ConsoleSession).where(ConsoleSession.id == row.id).values(last_seen_at=now)
        )
    api_limiter.hit(str(key.id), settings.rate_limit_per_minute)
    request.state.org_id = key.organization_id
    return SignedIn(_caller(request, key), row, csrf_token(settings, row.id))


Person = Annotated[SignedIn, Depends(current)]


async def checked_form(
    person: Person, csrf_token: Annotated[str | None, Form()] = None
) -> SignedIn:
    """A signed-in person whose form carries this session's CSRF token."""
    if not csrf_token or not hmac.compare_digest(csrf_token, person.csrf):
        raise CsrfRefused("The form's security token is missing or stale: reload and try again.")
    return person


FormPerson = Annotated[SignedIn, Depends(checked_form)]
