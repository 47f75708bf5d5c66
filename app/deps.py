"""FastAPI dependencies: who is calling, and may they do this."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request

from app.audit import service as audit
from app.auth import service as auth_service
from app.auth.scopes import Scope
from app.auth.service import Caller
from app.auth.trail import RequestTrail
from app.db import SessionDep
from app.errors import Forbidden, Unauthorized
from app.ratelimit import WindowLimiter, api_limiter

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="lead-router"'}


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def _failures(request: Request) -> tuple[WindowLimiter, str, int]:
    state = request.app.state
    if not hasattr(state, "auth_failures"):
        state.auth_failures = WindowLimiter()
    return (
        state.auth_failures,
        client_ip(request) or "unknown",
        state.settings.auth_failures_per_minute,
    )


def _trail(request: Request) -> RequestTrail:
    route = request.scope.get("route")
    return RequestTrail(
        method=request.method,
        route=str(getattr(route, "path", request.url.path)),
        endpoint=str(getattr(route, "name", "") or ""),
        path_params={k: str(v) for k, v in request.path_params.items()},
    )


async def get_caller(request: Request, session: SessionDep) -> AsyncIterator[Caller]:
    """The authenticated caller, and the request's audit row (app.auth.trail): written
    with the request's work when it succeeds, after its rollback when it fails."""
    # Failed authentications are counted per client address, so keys cannot be guessed at
    # speed; an address over its budget is refused before its key is even looked up.
    failures, address, budget = _failures(request)
    failures.check(address, budget)
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    try:
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("Send an API key as `Authorization: Bearer lr_…`.")
        key = await auth_service.authenticate(session, token.strip())
    except Unauthorized as exc:
        exc.headers = _CHALLENGE
        failures.hit(address, budget + 1)
        raise
    caller = Caller(
        org_id=key.organization_id,
        key_id=key.id,
        scopes=frozenset(key.scopes),
        request_id=getattr(request.state, "request_id", None),
        client_ip=client_ip(request),
        trail=_trail(request),
    )
    request.state.org_id = caller.org_id
    try:
        api_limiter.hit(str(key.id), request.app.state.settings.rate_limit_per_minute)
        yield caller
    except Exception as exc:
        await audit.record_failure(session, caller, exc)
        raise
    await audit.finish_request(session, caller)


# Function scope: the request's audit row is written before its session commits.
CallerDep = Annotated[Caller, Depends(get_caller, scope="function")]


def require(scope: Scope) -> Callable[[Caller], Awaitable[Caller]]:
    async def check(caller: CallerDep) -> Caller:
        if not caller.has(scope):
            raise Forbidden(f"This API key lacks the `{scope.value}` scope.")
        return caller

    return check


def require_any(*scopes: Scope) -> Callable[[Caller], Awaitable[Caller]]:
    async def check(caller: CallerDep) -> Caller:
        if not any(caller.has(scope) for scope in scopes):
            names = " or ".join(f"`{s.value}`" for s in scopes)
            raise Forbidden(f"This API key lacks the {names} scope.")
        return caller

    return check


AdminCaller = Annotated[Caller, Depends(require(Scope.ADMIN))]
LeadsWriter = Annotated[Caller, Depends(require(Scope.LEADS_WRITE))]
LeadsReader = Annotated[Caller, Depends(require(Scope.LEADS_READ))]
LeadsEraser = Annotated[Caller, Depends(require(Scope.LEADS_ERASE))]
AttemptsWriter = Annotated[Caller, Depends(require(Scope.ATTEMPTS_WRITE))]
OutcomesWriter = Annotated[Caller, Depends(require(Scope.OUTCOMES_WRITE))]
ConsentWriter = Annotated[Caller, Depends(require(Scope.CONSENT_WRITE))]
ReportsReader = Annotated[Caller, Depends(require(Scope.REPORTS_READ))]
AvailabilityWriter = Annotated[
    Caller, Depends(require_any(Scope.AVAILABILITY_WRITE, Scope.OUTCOMES_WRITE))
]
