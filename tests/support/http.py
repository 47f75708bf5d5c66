"""A real HTTP server on 127.0.0.1 for tests that talk to outside peers (Graph API, receivers).

Runs in a thread so it answers while the test's event loop is busy; never binds anything but
loopback. `read_request` is the request reader of the asyncio receivers (tests and benches)
that answer webhook deliveries on keep-alive connections.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


Responder = Callable[[Recorded], tuple[int, Any]]


async def read_request(reader: asyncio.StreamReader) -> tuple[dict[str, str], bytes]:
    """The next request on a connection: its headers (names in lower case) and its body.
    Raises asyncio.IncompleteReadError when the client closed the connection instead."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")[1:]
    headers = {
        k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines if line)
    }
    return headers, await reader.readexactly(int(headers.get("content-length", "0")))


@dataclass
class LocalServer:
    responder: Responder
    requests: list[Recorded] = field(default_factory=list)
    url: str = ""


@contextmanager
def serve(responder: Responder) -> Iterator[LocalServer]:
    state = LocalServer(responder)

    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            rec = Recorded(self.command, self.path, dict(self.headers), self.rfile.read(length))
            state.requests.append(rec)
            status, payload = state.responder(rec)
            body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _handle

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
