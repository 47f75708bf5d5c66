"""Rendering console pages: the template environment, security headers and HTML error pages."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.console import words
from app.console.auth import SignedIn
from app.ops import failures

HERE = Path(__file__).parent
PREFIX = "/console"
STATIC = f"{PREFIX}/static"

templates = Jinja2Templates(directory=HERE / "templates")
templates.env.filters.update(
    duration=words.duration,
    pct=words.pct,
    num=words.num,
    money=words.money,
    when=words.when,
    countdown=words.countdown,
    label=words.label,
    group=words.group,
    weekday=words.weekday,
    hour=words.hour,
)
templates.env.globals.update(static=STATIC, definitions=words.DEFINITIONS)

# Pages show personal data: no caching, no framing, no referrer, and scripts only from here.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
PAGE_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"referrer-policy", b"no-referrer"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
]
NO_STORE = (b"cache-control", b"no-store")


def render(
    request: Request,
    name: str,
    context: dict[str, Any],
    *,
    person: SignedIn | None = None,
    status: int = 200,
) -> HTMLResponse:
    ctx = {"person": person, "csrf": person.csrf if person else None, "path": request.url.path}
    ctx.update(context)
    return templates.TemplateResponse(request, name, ctx, status_code=status)


class SecurityHeaders:
    """Adds the console's headers to every response under /console (pages and errors)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not (path == PREFIX or path.startswith(PREFIX + "/")):
            await self.app(scope, receive, send)
            return
        static = path.startswith(STATIC + "/")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.extend(PAGE_HEADERS)
                if not static:
                    headers.append(NO_STORE)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


def is_console(request: Request) -> bool:
    path = request.url.path
    return (path == PREFIX or path.startswith(PREFIX + "/")) and not path.startswith(STATIC)


Handler = Callable[[Request, Exception], Awaitable[Response]]


def _html_error(original: Callable[[Request, Any], Any]) -> Handler:
    """The API's error handler, its problem rendered as a page for console requests."""

    async def handle(request: Request, exc: Exception) -> Response:
        answer: Response = await original(request, exc)
        if not is_console(request):
            return answer
        try:
            problem = json.loads(bytes(answer.body))
        except ValueError:
            problem = {}
        status = answer.status_code
        if status == 401 and problem.get("type", "").endswith("/sign-in-required"):
            target = f"{PREFIX}/login?notice={quote(problem.get('detail', ''))}"
            if request.method == "GET" and request.url.path != f"{PREFIX}/login":
                target += f"&next={quote(request.url.path)}"
            return RedirectResponse(target, status_code=303)
        headers = {k: v for k, v in answer.headers.items() if k.lower() == "retry-after"}
        page = render(
            request,
            "error.html",
            {"status": status, "title": problem.get("title", "Error"),
             "detail": problem.get("detail"), "problem_type": problem.get("type", "")},
            status=status,
        )  # fmt: skip
        page.headers.update(headers)
        return page

    return handle


def failure_page(
    request: Request, status: int, title: str, detail: str, headers: dict[str, str]
) -> Response:
    """The page a console request gets when it failed on our side (app.ops.failures): the
    database away (503) or a fault of ours (500)."""
    if not is_console(request):
        return failures.default_page(request, status, title, detail, headers)
    page = render(request, "error.html", {"status": status, "title": title, "detail": detail},
                  status=status)  # fmt: skip
    page.headers.update(headers)
    return page


def install_error_pages(app: FastAPI) -> None:
    failures.set_html_renderer(failure_page)
    for exc_class, handler in list(app.exception_handlers.items()):
        app.exception_handlers[exc_class] = _html_error(handler)
