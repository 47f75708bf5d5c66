"""uvicorn, with the limits a server facing slow or abusive clients needs.

uvicorn closes idle keep-alive connections, but sets no deadline on a request's head or
body: a connection that sends its headers a byte at a time is held for ever, and a few
hundred of them reach the connection limit (uvicorn counts every open connection against
`limit_concurrency`), after which every other client is answered 503. This protocol adds
the deadlines a reverse proxy would (nginx's `client_header_timeout` and
`client_body_timeout`) and a cap on the size of a request's head; `serve` passes the rest
to uvicorn (see `uvicorn_limits`).
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from app.config import Settings, get_settings

PROTOCOL = "app.ops.server:GuardedHttpToolsProtocol"


def uvicorn_limits(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for uvicorn.run."""
    return {
        "http": PROTOCOL,
        "timeout_keep_alive": settings.http_keep_alive_seconds,
        "limit_concurrency": settings.http_max_connections or None,
        "backlog": settings.http_backlog,
        # uvicorn kills a worker that has not answered its supervisor's ping in 5 s and starts
        # another; on a busy host a worker still importing the application misses that, and
        # with several workers the service never became ready (each replacement killed in
        # turn). A hung worker is still replaced, half a minute later.
        "timeout_worker_healthcheck": 30,
    }


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a deadline for each request's head (from its first
    byte, or the connection's start) and for each pause in its body, and a size cap on its
    head. A head too slow or too large is answered 408 or 431 and the connection closed; a
    stalled body closes the connection (the application sees the client leave)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        settings = get_settings()
        self.head_timeout = settings.http_header_timeout_seconds
        self.body_timeout = settings.http_body_timeout_seconds
        self.head_limit = settings.http_max_header_bytes
        self.head_bytes = 0
        self.in_head = True
        self.deadline: asyncio.TimerHandle | None = None

    def _arm(self, seconds: float, handler: Any) -> None:
        self._disarm()
        self.deadline = self.loop.call_later(seconds, handler)

    def _disarm(self) -> None:
        if self.deadline is not None:
            self.deadline.cancel()
            self.deadline = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm(self.head_timeout, self._head_too_slow)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.in_head:
            self.head_bytes += len(data)
            if self.head_bytes > self.head_limit and self._idle():
                self._refuse(431, b"Request Header Fields Too Large")
                return
        super().data_received(data)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if not self.in_head:  # the next request on a kept-alive connection
            self.in_head, self.head_bytes = True, 0
            self._arm(self.head_timeout, self._head_too_slow)

    def on_headers_complete(self) -> None:
        self.in_head = False
        super().on_headers_complete()
        self._arm(self.body_timeout, self._body_too_slow)

    def on_body(self, body: bytes) -> None:
        super().on_body(body)
        self._arm(self.body_timeout, self._body_too_slow)

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()

    def _idle(self) -> bool:
        """No response is being made on this connection (so one may be written)."""
        return self.cycle is None or self.cycle.response_complete

    def _head_too_slow(self) -> None:
        self.deadline = None
        if self.transport.is_closing():
            return
        if not self._idle():  # a pipelined head behind a response still being made
            self._arm(self.head_timeout, self._head_too_slow)
            return
        self._refuse(408, b"Request Timeout")

    def _body_too_slow(self) -> None:
        self.deadline = None
        if self.transport.is_closing():
            return
        if self.flow.read_paused:  # the application is not reading: not the client's fault
            self._arm(self.body_timeout, self._body_too_slow)
            return
        self.transport.close()

    def _refuse(self, status: int, reason: bytes) -> None:
        self._disarm()
        self.transport.write(
            b"HTTP/1.1 %d %s\r\ncontent-length: 0\r\nconnection: close\r\n\r\n" % (status, reason)
        )
        self.transport.close()
