"""The document's operations, walked by the modules that complete it."""

from __future__ import annotations

from typing import Any

Document = dict[str, Any]


def operations(doc: Document) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, op)
        for path, item in doc.get("paths", {}).items()
        for method, op in item.items()
        if method in ("get", "put", "post", "patch", "delete")
    ]
