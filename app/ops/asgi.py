"""What the plain ASGI middlewares share: a request body read whole and handed on again, and a
problem answer sent before the app has seen the request."""

from __future__ import annotations

import json
from typing import Any

from starlette.types import Message, Receive, Scope, Send

from app.errors import PROBLEM_BASE, PROBLEM_JSON


async def read_body(receive: Receive, limit: int | None = None) -> tuple[bytes, Receive] | None:
    """The whole body and a `receive` that gives it to the app again as one message; None
    once it grows past `limit` bytes. A client that left before the end of its body leaves
    a `receive` that says so, never one that hands on the body cut short."""
    chunks: list[bytes] = []
    left: Message | None = None
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            left = message
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if limit is not None and size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if left is not None:
            return left
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return body, replay


async def send_problem(
    send: Send,
    scope: Scope,
    status: int,
    type_: str,
    title: str,
    detail: str,
    extra: dict[str, Any] | None = None,
    *,
    close: bool = False,
) -> None:
    """An application/problem+json answer; `close` when the rest of the body is not read."""
    payload: dict[str, Any] = {
        "type": PROBLEM_BASE + type_,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": scope.get("path"),
        **(extra or {}),
    }
    body = json.dumps(payload).encode()
    headers = [
        (b"content-type", PROBLEM_JSON.encode()),
        (b"content-length", str(len(body)).encode()),
    ]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
