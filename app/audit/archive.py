"""Moving audit rows older than six years out of the database (`lead-router audit-archive`).

HIPAA keeps documentation six years (45 CFR 164.316(b)(2)(i)); the append-only trigger lets
nothing younger be deleted. Rows past that age are written to a JSON Lines file and deleted
in one transaction: if the file cannot be written, nothing is deleted.
"""

from __future__ import annotations

import json
from typing import Any, TextIO

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

BATCH = 10_000

# The same cutoff as the trigger's (migration 0024), computed by the database.
_SELECT = text(
    "SELECT id, organization_id, actor_key_id, action, target_type, target_id, request_id,"
    " host(client_ip) AS client_ip, details, created_at, outcome, status_code, problem_type,"
    " route FROM audit_events WHERE created_at < now() - interval '6 years'"
    " AND id > :after ORDER BY id LIMIT :batch"
)
_DELETE = text(
    "DELETE FROM audit_events WHERE created_at < now() - interval '6 years' AND id <= :last"
)


def _line(row: Any) -> str:
    doc = dict(row._mapping)
    return json.dumps(doc, default=str, sort_keys=True, separators=(",", ":"))


async def archive(session: AsyncSession, out: TextIO, *, dry_run: bool = False) -> int:
    """Write every row older than six years to `out`, one JSON object a line, oldest first;
    then (unless `dry_run`) delete them. Returns how many; the caller commits."""
    count, last = 0, 0
    while True:
        rows = (await session.execute(_SELECT, {"after": last, "batch": BATCH})).all()
        if not rows:
            break
        for row in rows:
            out.write(_line(row) + "\n")
        count += len(rows)
        last = rows[-1].id
    out.flush()
    if count and not dry_run:
        await session.execute(_DELETE, {"last": last})
    return count
