"""`/console/login` and `/console/logout`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from app.console import auth
from app.console.auth import FormPerson
from app.console.pages import PREFIX, render
from app.db import SessionDep
from app.errors import Unauthorized

router = APIRouter(prefix=PREFIX, include_in_schema=False)


def _safe_next(target: str | None) -> str:
    # Only a console path: never an open redirect to another site.
    if target and target.startswith(PREFIX) and "//" not in target and "\\" not in target:
        return target
    return PREFIX


def _login_page(
    request: Request, *, notice: str | None = None, error: str | None = None,
    next_: str | None = None, status: int = 200,
) -> Response:  # fmt: skip
    nonce, cookie = auth.login_nonce(request)
    page = render(
        request, "login.html",
        {"login_token": nonce, "notice": notice, "error": error, "next": next_},
        status=status,
    )  # fmt: skip
    if cookie is not None:
        options = auth.cookie_options(request.app.state.settings)
        page.set_cookie(auth.LOGIN_COOKIE, cookie, **options)  # type: ignore[arg-type]
    return page


@router.get("/login")
async def login_form(
    request: Request, notice: str | None = None, next: str | None = None
) -> Response:
    return _login_page(request, notice=notice, next_=next)


@router.post("/login")
async def login(
    request: Request,
    session: SessionDep,
    api_key: Annotated[str, Form()] = "",
    csrf_token: Annotated[str | None, Form()] = None,
    next: Annotated[str | None, Form()] = None,
) -> Response:
    auth.check_login_nonce(request, csrf_token)
    try:
        _, cookie = await auth.sign_in(request, session, api_key)
    except Unauthorized as exc:
        return _login_page(request, error=exc.detail, next_=next, status=401)
    answer = RedirectResponse(_safe_next(next), status_code=303)
    options = auth.cookie_options(request.app.state.settings)
    answer.set_cookie(auth.SESSION_COOKIE, cookie, **options)  # type: ignore[arg-type]
    answer.delete_cookie(auth.LOGIN_COOKIE, path=PREFIX)
    return answer


@router.post("/logout")
async def logout(request: Request, session: SessionDep, person: FormPerson) -> Response:
    await auth.sign_out(session, person)
    answer = RedirectResponse(f"{PREFIX}/login?notice=You+are+signed+out.", status_code=303)
    answer.delete_cookie(auth.SESSION_COOKIE, path=PREFIX)
    return answer
