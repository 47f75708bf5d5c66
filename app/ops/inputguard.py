"""Refuse, before any parsing, input that would crash the parser or the database.

- JSON nested deeper than `MAX_DEPTH` is 400 `json-too-deep`: Python's parser recurses, and a
  body of a few kilobytes could otherwise exhaust the stack.
- A string PostgreSQL cannot store (NUL, an unpaired UTF-16 surrogate) in a JSON or form body
  or in the query string is 422 naming the field. Checked once here, so that no endpoint can
  forget it; the fast path is one regular-expression search of the raw bytes.

Plain ASGI, like the request-context middleware: it sits on every request, intake included.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Receive, Scope, Send

from app.ops.asgi import read_body, send_problem

MAX_DEPTH = 64
_WITH_BODY = {"POST", "PUT", "PATCH", "DELETE"}
# An escaped NUL or surrogate: the only way either can reach a parsed JSON string.
_SUSPECT_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F][0-9a-fA-F]{2})")
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_UNSTORABLE_MESSAGE = "contains a character that cannot be stored (NUL or an unpaired surrogate)"


def json_depth(body: bytes) -> int:
    """The deepest nesting of arrays and objects, strings skipped; cheap when it is shallow."""
    if body.count(b"[") + body.count(b"{") <= MAX_DEPTH:
        return 0
    depth = deepest = 0
    for char in _STRING.sub(b'""', body):
        if char in b"[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in b"]}":
            depth -= 1
    return deepest


def unstorable_field(value: Any, path: tuple[str, ...] = ()) -> str | None:
    """The dotted path of the first key or string that PostgreSQL cannot store, if any."""
    stack: list[tuple[Any, tuple[str, ...]]] = [(value, path)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, str):
            if _UNSTORABLE.search(item):
                return ".".join(where) or "body"
        elif isinstance(item, dict):
            for key, child in item.items():
                if _UNSTORABLE.search(key):
                    return ".".join(where) or "body"
                stack.append((child, (*where, key)))
        elif isinstance(item, list):
            stack.extend((child, (*where, str(i))) for i, child in enumerate(item))
    return None


def unstorable_param(raw: bytes) -> str | None:
    """The name of the first query or form parameter that cannot be stored, if any."""
    if not raw:
        return None
    text = raw.decode("latin-1")
    if "%" not in text and "\x00" not in text:
        return None
    try:
        pairs = parse_qsl(text, keep_blank_values=True, encoding="utf-8", errors="strict")
    except UnicodeDecodeError:
        # Which parameter? Decode them one by one to name it.
        for part in text.split("&"):
            name = part.split("=", 1)[0]
            try:
                parse_qsl(part, keep_blank_values=True, encoding="utf-8", errors="strict")
            except UnicodeDecodeError:
                return _safe_name(name)
        return "query"
    for name, value in pairs:
        if _UNSTORABLE.search(name) or _UNSTORABLE.search(value):
            return _safe_name(name)
    return None


def _safe_name(name: str) -> str:
    cleaned = _UNSTORABLE.sub("", name)
    return cleaned[:64] or "query"


class InputGuardMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        bad_param = unstorable_param(scope.get("query_string", b""))
        if bad_param is not None:
            await _unstorable(send, scope, bad_param, "query")
            return
        if scope["method"] not in _WITH_BODY:
            await self.app(scope, receive, send)
            return
        content_type = dict(scope["headers"]).get(b"content-type", b"").lower()
        is_json = b"json" in content_type
        is_form = content_type.startswith(b"application/x-www-form-urlencoded")
        if not (is_json or is_form):
            await self.app(scope, receive, send)
            return
        read = await read_body(receive)
        assert read is not None  # no limit: always the whole body
        body, replay = read
        if is_json:
            if json_depth(body) > MAX_DEPTH:
                await send_problem(
                    send,
                    scope,
                    400,
                    "json-too-deep",
                    "JSON too deep",
                    f"The body nests arrays and objects deeper than {MAX_DEPTH} levels.",
                )
                return
            if _SUSPECT_ESCAPE.search(body):
                field = _unstorable_json_field(body)
                if field is not None:
                    await _unstorable(send, scope, field, "body")
                    return
        else:
            field = unstorable_param(body)
            if field is not None:
                await _unstorable(send, scope, field, "body")
                return
        await self.app(scope, replay, send)


def _unstorable_json_field(body: bytes) -> str | None:
    try:
        parsed = json.loads(body)
    except (ValueError, RecursionError):
        return None  # the endpoint answers malformed JSON its own way
    return unstorable_field(parsed)


async def _unstorable(send: Send, scope: Scope, field: str, where: str) -> None:
    detail = (
        "The request does not match the schema; see `errors`."
        if where == "body"
        else "A query parameter is invalid; see `errors`."
    )
    await send_problem(
        send,
        scope,
        422,
        "validation-error",
        "Invalid request",
        detail,
        {"errors": [{"field": field, "message": _UNSTORABLE_MESSAGE}]},
    )
