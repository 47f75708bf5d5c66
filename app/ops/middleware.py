"""Request id, body-size limit, access log, metrics and the answer to a request that failed,
as one plain ASGI middleware.

Plain ASGI rather than BaseHTTPMiddleware: it sits on every request, intake included.
"""

from __future__ import annotations

import re
import time
import uuid

import structlog
from starlette.datastructures import MutableHeaders
from starlette.requests import ClientDisconnect, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.ops import failures
from app.ops.asgi import read_body, send_problem
from app.ops.metrics import LATENCY, REQUESTS

log = structlog.get_logger("app.access")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_SKIP_LOG = {"/healthz", "/readyz", "/metrics"}


class RequestContextMiddleware:
    def __init__(
        self, app: ASGIApp, max_body_bytes: int, path_limits: dict[str, int] | None = None
    ) -> None:
        self.app = app
        self.max_body = max_body_bytes
        # Exact paths with a limit of their own (bulk endpoints).
        self.path_limits = path_limits or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        given = headers.get(b"x-request-id", b"").decode("latin-1")
        request_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status = 500
        responded = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, responded
            if message["type"] == "http.response.start":
                status, responded = message["status"], True
                MutableHeaders(scope=message).append("X-Request-ID", request_id)
            await send(message)

        try:
            limited = await self._limit_body(scope, receive, headers, send_with_id)
            if limited is not None:
                await self.app(scope, limited, send_with_id)
        except ClientDisconnect:
            status = 499  # the client left before sending its whole body: nobody to answer
        except Exception as exc:
            # Answered here, not re-raised: the server would print a traceback (exception
            # texts can quote personal data) and drop the client's keep-alive connection.
            if responded:
                failures.log_after_response(scope, exc)
            else:
                await failures.respond(Request(scope), exc)(scope, receive, send_with_id)
        finally:
            self._observe(scope, status, time.perf_counter() - started)

    async def _limit_body(
        self, scope: Scope, receive: Receive, headers: dict[bytes, bytes], send: Send
    ) -> Receive | None:
        """Refuse bodies over the limit with 413 before the app reads them."""
        limit = self.path_limits.get(scope.get("path", ""), self.max_body)
        length = headers.get(b"content-length")
        if length is not None:
            if not length.isdigit():
                await _problem(send, scope, 400, "bad-request", "Invalid Content-Length header.")
                return None
            if int(length) > limit:
                await _problem(send, scope, 413, "payload-too-large", self._too_large(limit))
                return None
            return receive
        if headers.get(b"transfer-encoding", b"").lower() != b"chunked":
            return receive
        # Chunked body of unknown size: buffered up to the limit, then handed on.
        read = await read_body(receive, limit)
        if read is None:
            await _problem(send, scope, 413, "payload-too-large", self._too_large(limit))
            return None
        return read[1]

    def _too_large(self, limit: int) -> str:
        return f"The request body exceeds the limit of {limit} bytes."

    def _observe(self, scope: Scope, status: int, elapsed: float) -> None:
        route = scope.get("route")
        template = getattr(route, "path", None) or "unmatched"
        method = scope["method"]
        REQUESTS.labels(method, template, str(status)).inc()
        LATENCY.labels(method, template).observe(elapsed)
        if template not in _SKIP_LOG:
            log.info(
                "request",
                method=method,
                route=template,
                status=status,
                duration_ms=round(elapsed * 1000, 2),
            )


async def _problem(send: Send, scope: Scope, status: int, type_: str, detail: str) -> None:
    # The body is left unread: the connection closes after the answer.
    title = detail.split(".")[0]
    await send_problem(send, scope, status, type_, title, detail, close=True)
