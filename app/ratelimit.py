"""A per-process fixed-window limiter per API key (or per webhook source).

It is deliberately local: a shared limiter would cost a database write per request. With N
API processes the effective ceiling is N times the setting, which the README states.
"""

from __future__ import annotations

import math
import time

from app.errors import RateLimited


class WindowLimiter:
    def __init__(self, window_seconds: float = 60.0) -> None:
        self.window = window_seconds
        self._counts: dict[str, tuple[float, int]] = {}

    def check(self, key: str, limit: int, now: float | None = None) -> None:
        """Raise RateLimited if `key` has used up its window, without counting this call."""
        if limit <= 0:
            return
        now = time.monotonic() if now is None else now
        start, count = self._counts.get(key, (now, 0))
        if now - start < self.window and count >= limit:
            retry = max(1, math.ceil(self.window - (now - start)))
            raise RateLimited(
                "Too many failed authentications from this address; retry later.",
                headers={"Retry-After": str(retry)},
            )

    def hit(self, key: str, limit: int, now: float | None = None) -> None:
        if limit <= 0:
            return
        now = time.monotonic() if now is None else now
        start, count = self._counts.get(key, (now, 0))
        if now - start >= self.window:
            start, count = now, 0
        if count >= limit:
            retry = max(1, math.ceil(self.window - (now - start)))
            raise RateLimited(
                f"More than {limit} requests in {int(self.window)} seconds; retry later.",
                headers={"Retry-After": str(retry)},
            )
        self._counts[key] = (start, count + 1)
        if len(self._counts) > 100_000:  # bound memory against key churn
            self._counts = {k: v for k, v in self._counts.items() if now - v[0] < self.window}


api_limiter = WindowLimiter()
webhook_limiter = WindowLimiter()
