"""What a request that failed on our side answers, and the one log line it leaves.

A database that is away (refused, reset, dropped mid-query, a full pool, a server starting or
shutting down) is not the caller's fault and passes: 503 `database-unavailable` with
`Retry-After`, whatever layer raised it (SQLAlchemy wraps some driver errors; asyncpg's
own and plain OSErrors such as ConnectionRefusedError arrive as they are). Anything else is a
500. Either way the log gets one line, with the exception's class and the step that failed
(module and function, never values: exception texts can quote SQL parameters and so personal
data), and no traceback.

Requests that prefer HTML (the console's pages, a browser) get the same answer as a page;
`set_html_renderer` lets the console draw it in its own layout.
"""

from __future__ import annotations

import html
import time
import traceback
from collections import Counter
from collections.abc import Callable
from types import TracebackType

import structlog
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.types import Scope

from app.db import chain, database_unavailable
from app.errors import problem

log = structlog.get_logger("app.errors")

RETRY_AFTER_SECONDS = 1
# Frames of these modules are plumbing: the failing step is their caller.
_PLUMBING = ("app.direct", "app.db", "app.tenancy", "app.ops.middleware", "app.ops.failures")


def failure_site(exc: BaseException) -> dict[str, str]:
    """Where `exc` was raised: the step (the innermost function of ours that is not
    plumbing) and the innermost line of ours. Names and line numbers only."""
    step = where = innermost = ""
    tb: TracebackType | None = exc.__traceback__
    for frame, lineno in traceback.walk_tb(tb):
        module = str(frame.f_globals.get("__name__", ""))
        if not module.startswith("app."):
            continue
        where, innermost = f"{module}:{lineno}", f"{module}.{frame.f_code.co_name}"
        if not module.startswith(_PLUMBING):
            step = innermost
    # Only plumbing (the request's commit in app.db.get_session, say): that is the step.
    out = {"step": step or innermost or "unknown", "where": where or "outside the application"}
    for err in chain(exc):
        # Names of the schema's objects, never the values that broke them.
        for field in ("sqlstate", "constraint_name", "table_name", "column_name"):
            value = getattr(err, field, None)
            if isinstance(value, str) and value and field not in out:
                out[field] = value
    return out


class FloodSummary:
    """Under a flood of failures, one summary line per period on top of the line each."""

    def __init__(self, period: float = 5.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.period = period
        self.clock = clock
        self._since = 0.0
        self._counts: Counter[str] = Counter()

    def add(self, kind: str) -> None:
        now = self.clock()
        if not self._counts:
            self._since = now  # a period starts with its first failure
        self._counts[kind] += 1
        if now - self._since >= self.period:
            if sum(self._counts.values()) > 1:
                log.warning(
                    "request_failures_summary",
                    seconds=round(now - self._since, 1),
                    **{k.replace("-", "_"): n for k, n in sorted(self._counts.items())},
                )
            self._counts.clear()
            self._since = now


_summary = FloodSummary()

HtmlRenderer = Callable[[Request, int, str, str, dict[str, str]], Response]


def default_page(
    request: Request, status: int, title: str, detail: str, headers: dict[str, str]
) -> Response:
    """A bare page, with no layout to fail in its turn."""
    retry = headers.get("Retry-After")
    refresh = f'<meta http-equiv="refresh" content="{int(retry) * 5}">' if retry else ""
    body = (
        f"<!doctype html><html lang=en><head><meta charset=utf-8>{refresh}"
        f"<title>{html.escape(title)} · lead-router</title></head><body>"
        f"<h1>{html.escape(title)}</h1><p>{html.escape(detail)}</p></body></html>"
    )
    return HTMLResponse(body, status_code=status, headers=headers)


_html_renderer: HtmlRenderer = default_page


def set_html_renderer(renderer: HtmlRenderer) -> None:
    """Draw the 5xx page HTML requests get (the console's layout); the default is bare."""
    global _html_renderer
    _html_renderer = renderer


def _quality(accept: str, wanted: tuple[str, ...]) -> float:
    best = 0.0
    for part in accept.split(","):
        media, *params = (p.strip() for p in part.split(";"))
        if media.lower() not in wanted:
            continue
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        best = max(best, q)
    return best


def prefers_html(request: Request) -> bool:
    """A browser's navigation (text/html ranked above any JSON type): `*/*` is not asked."""
    accept = request.headers.get("accept", "")
    html_q = _quality(accept, ("text/html", "application/xhtml+xml"))
    json_q = _quality(accept, ("application/json", "application/problem+json"))
    return html_q > json_q


def respond(request: Request, exc: BaseException) -> Response:
    """The answer to a request whose handling raised `exc`, after logging it once."""
    site = failure_site(exc)
    route = getattr(request.scope.get("route"), "path", None) or "unmatched"
    if database_unavailable(exc):
        # Nothing was committed: the caller may retry the same request safely.
        log.warning("database_unavailable", error_type=type(exc).__name__, route=route, **site)
        _summary.add("database-unavailable")
        status, type_, title = 503, "database-unavailable", "Service unavailable"
        detail = "The database is busy or unreachable; retry shortly."
        headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    else:
        log.error("unhandled_error", error_type=type(exc).__name__, route=route, **site)
        _summary.add("internal-error")
        status, type_, title = 500, "internal-error", "Internal error"
        detail, headers = title, {}
    if prefers_html(request):
        return _html_renderer(request, status, title, detail, headers)
    return problem(status, type_, title, detail, request.url.path, headers=headers)


def install(app: Starlette) -> None:
    """The last resort, for an error raised outside RequestContextMiddleware (which answers
    for everything inside it): Starlette re-raises it to the server after this answer."""

    async def _unhandled(request: Request, exc: Exception) -> Response:
        return respond(request, exc)

    app.add_exception_handler(Exception, _unhandled)


def log_after_response(scope: Scope, exc: BaseException) -> None:
    """An error once the answer had begun: nothing left to send, one line to log."""
    route = getattr(scope.get("route"), "path", None) or "unmatched"
    kind = "database_unavailable" if database_unavailable(exc) else "unhandled_error"
    log.error(kind, error_type=type(exc).__name__, route=route, after_response=True,
              **failure_site(exc))  # fmt: skip
