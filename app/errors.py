"""One error hierarchy, rendered as RFC 9457 `application/problem+json` by one handler."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_BASE = "https://lead-router.dev/problems/"
PROBLEM_JSON = "application/problem+json"


class AppError(Exception):
    status: int = 500
    type: str = "internal-error"
    title: str = "Internal error"
    # What the request tried to reach, for its audit row: (type, id). Never rendered.
    target: tuple[str, str] | None = None

    def __init__(
        self,
        detail: str | None = None,
        *,
        type: str | None = None,
        title: str | None = None,
        status: int | None = None,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail
        if type is not None:
            self.type = type
        if title is not None:
            self.title = title
        if status is not None:
            self.status = status
        self.extra = extra or {}
        self.headers = headers or {}


class BadRequest(AppError):
    status, type, title = 400, "bad-request", "Bad request"


class Unauthorized(AppError):
    status, type, title = 401, "unauthorized", "Authentication required"


class Forbidden(AppError):
    status, type, title = 403, "forbidden", "Not allowed"


class NotFound(AppError):
    status, type, title = 404, "not-found", "Not found"


class Conflict(AppError):
    status, type, title = 409, "conflict", "Conflict"


class NotAcceptable(AppError):
    status, type, title = 406, "not-acceptable", "Not acceptable"


class UnsupportedMediaType(AppError):
    status, type, title = 415, "unsupported-media-type", "Unsupported media type"


class Unprocessable(AppError):
    status, type, title = 422, "validation-error", "Invalid request"


class RateLimited(AppError):
    status, type, title = 429, "rate-limited", "Too many requests"


def problem(
    status: int,
    type_: str,
    title: str,
    detail: str | None,
    instance: str | None,
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + type_,
        "title": title,
        "status": status,
        "detail": detail or title,
        "instance": instance,
    }
    if extra:
        body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _instance(request: Request) -> str:
    return request.url.path


_HTTP_TYPES = {
    400: ("bad-request", "Bad request"),
    401: ("unauthorized", "Authentication required"),
    403: ("forbidden", "Not allowed"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    406: ("not-acceptable", "Not acceptable"),
    413: ("payload-too-large", "Request body too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
}


def validation_errors(exc: RequestValidationError) -> list[dict[str, str]]:
    """Field pointers and messages only: the submitted values may be PHI."""
    out = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ()) if p != "body"]
        out.append({"field": ".".join(loc) or "body", "message": str(err.get("msg", "invalid"))})
    return out


def install(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def _app_error(request: Request, exc: AppError) -> JSONResponse:
        return problem(
            exc.status, exc.type, exc.title, exc.detail, _instance(request), exc.extra, exc.headers
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = validation_errors(exc)
        if any(e["message"].startswith("JSON decode error") for e in errors):
            return problem(
                400,
                "malformed-json",
                "Malformed JSON",
                "The body is not valid JSON.",
                _instance(request),
            )
        return problem(
            422,
            "validation-error",
            "Invalid request",
            "The request does not match the schema; see `errors`.",
            _instance(request),
            {"errors": errors},
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        type_, title = _HTTP_TYPES.get(exc.status_code, ("http-error", "HTTP error"))
        detail = exc.detail if isinstance(exc.detail, str) and exc.status_code != 404 else title
        return problem(
            exc.status_code,
            type_,
            title,
            detail,
            _instance(request),
            headers=getattr(exc, "headers", None),
        )
