"""Structured logs. Log events carry ids and codes, never personal data."""

from __future__ import annotations

import logging
import sys

import structlog


def configure(level: str = "INFO", fmt: str = "json") -> None:
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.PrintLoggerFactory(sys.stdout),
        cache_logger_on_first_use=True,
    )
    logging.basicConfig(level=level, stream=sys.stdout, format="%(message)s", force=True)
    # Our middleware writes one access line per request with the route template; uvicorn's
    # own access log would print raw paths and query strings.
    logging.getLogger("uvicorn.access").disabled = True
    # httpx writes a plain-text line per request with its full URL: a webhook receiver's URL
    # often holds its secret (a token in the path or query). Deliveries log their own ids.
    logging.getLogger("httpx").setLevel(logging.WARNING)
