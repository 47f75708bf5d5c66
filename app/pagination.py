"""Keyset cursors of the newest-first lists: `(timestamp, id)` of a page's last row.

Opaque to a client (URL-safe base64); a list names its cursors (`kind`) so that one list's
cursor given to another is refused, not read as a position in it.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, tuple_
from sqlalchemy.orm import InstrumentedAttribute

from app.errors import Unprocessable

Key = TypeVar("Key")


def encode(kind: str, at: dt.datetime, key: object) -> str:
    return base64.urlsafe_b64encode(f"{kind}|{at.isoformat()}|{key}".encode()).decode()


def decode(kind: str, cursor: str, key: Callable[[str], Key]) -> tuple[dt.datetime, Key]:
    """The position a cursor of this list gives; 422 for any other text."""
    try:
        named, at, ident = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
        when = dt.datetime.fromisoformat(at)
        if named != kind or when.tzinfo is None:
            raise ValueError(cursor)
        # In UTC here: a far offset on the calendar's edge overflows now, not in the driver.
        return when.astimezone(dt.UTC), key(ident)
    except (ValueError, OverflowError):  # binascii.Error and UnicodeDecodeError are ValueErrors
        raise Unprocessable(
            "Invalid `cursor`: pass a `next_cursor` this list answered.", type="invalid-cursor"
        ) from None


def older(
    at_column: InstrumentedAttribute[dt.datetime],
    key_column: InstrumentedAttribute[Any],
    at: dt.datetime,
    key: object,
) -> ColumnElement[bool]:
    """Rows after the position in newest-first order (`at_column DESC, key_column DESC`).

    A row comparison, so an index on `(..., at_column, key_column)` starts at the position."""
    return tuple_(at_column, key_column) < tuple_(at, key)
