from __future__ import annotations

import httpx
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as SATimeoutError

from app.db import get_session
from app.main import create_app
from tests.conftest import _client, make_settings


class TooManyConnectionsError(Exception):
    """Named like asyncpg's: the handler recognises the driver error by its class name."""


def _raising(exc: Exception):  # type: ignore[no-untyped-def]
    async def broken() -> None:
        raise exc

    return broken


async def test_database_exhaustion_is_503_with_retry_after() -> None:
    app = create_app(make_settings(), manage_database=False)
    for exc in (
        SATimeoutError("QueuePool limit reached"),
        DBAPIError("SELECT 1", {}, TooManyConnectionsError("sorry, too many clients already")),
    ):
        app.dependency_overrides[get_session] = _raising(exc)
        async with _client(app) as c:
            r: httpx.Response = await c.get("/v1/api-keys", headers={"Authorization": "Bearer x"})
        assert r.status_code == 503
        assert r.headers["retry-after"] == "1"
        assert r.json()["type"].endswith("/database-unavailable")
        assert "too many" not in r.text and "SELECT" not in r.text
