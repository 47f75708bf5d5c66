"""leads.zip3: the five-digit ZIP and its coordinates leave the lead row.

A five-digit ZIP is one of HIPAA's identifiers (45 CFR 164.514(b)(2)(i)(B)); only its first
three digits, for areas of more than 20,000 people, are not. The ZIP moves into the lead's
encrypted document (`pii`, key `postal_code`, under the service's encryption keys, so this
migration needs them as the service does); the row keeps the Safe Harbor ZIP3 (`000` for
small areas), the state and the time zone. The coordinates were the ZIP's centroid: scoring
looks them up from the ZIP when it needs a distance, and the columns go.

A row without an encrypted document (erased, or still waiting for its data) keeps only the
ZIP3. Downgrading puts the ZIP (or, without a document, the ZIP3) and the centroid back.

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-04
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None

BATCH = 1000
# As app.leads.normalize.SMALL_ZIP3, copied: a migration must not change with the code.
SMALL_ZIP3 = ("036", "059", "063", "102", "203", "556", "692", "790", "821", "823", "830",
              "831", "878", "879", "884", "890", "893")  # fmt: skip


def _context(lead_id: Any) -> str:
    return f"lead-pii:{lead_id}"


def _rows(sql: str) -> Any:
    """Keyset pages of (id, pii, code) rows, so a large table is not held in memory."""
    conn = op.get_bind()
    after = None
    while True:
        page = conn.execute(
            sa.text(sql.format(after="" if after is None else "AND id > :after")),
            {"after": after, "n": BATCH},
        ).all()
        if not page:
            return
        yield page
        after = page[-1][0]


def upgrade() -> None:
    # Loaded when this revision runs: Alembic imports every revision to list them, and only
    # this one needs the service's cipher.
    from app.crypto import cipher

    op.add_column("leads", sa.Column("zip3", sa.String(3)))
    small = ", ".join(f"'{z}'" for z in SMALL_ZIP3)
    op.execute(
        "UPDATE leads SET zip3 = CASE WHEN left(postal_code, 3) IN"  # noqa: S608
        f" ({small}) THEN '000' ELSE left(postal_code, 3) END"
        " WHERE postal_code ~ '^[0-9]{3}'"
    )
    box = cipher()
    conn = op.get_bind()
    select = (
        "SELECT id, pii, postal_code FROM leads WHERE pii IS NOT NULL"
        " AND postal_code ~ '^[0-9]{{5}}$' {after} ORDER BY id LIMIT :n"
    )
    for page in _rows(select):
        updates = []
        for lead_id, blob, code in page:
            doc = json.loads(box.decrypt(bytes(blob), _context(lead_id)))
            doc["postal_code"] = code
            sealed = box.encrypt(json.dumps(doc, separators=(",", ":")), _context(lead_id))
            updates.append({"id": lead_id, "pii": sealed})
        conn.execute(sa.text("UPDATE leads SET pii = :pii WHERE id = :id"), updates)
    op.drop_column("leads", "postal_code")
    op.drop_column("leads", "latitude")
    op.drop_column("leads", "longitude")


def downgrade() -> None:
    # Loaded when this revision runs: Alembic imports every revision to list them, and only
    # this one needs the service's cipher (and ZIP table).
    from app.crypto import cipher
    from app.leads.normalize import lookup_zip

    op.add_column("leads", sa.Column("postal_code", sa.String(10)))
    op.add_column("leads", sa.Column("latitude", sa.Float()))
    op.add_column("leads", sa.Column("longitude", sa.Float()))
    op.execute("UPDATE leads SET postal_code = zip3 WHERE zip3 IS NOT NULL")
    box = cipher()
    conn = op.get_bind()
    select = "SELECT id, pii, NULL FROM leads WHERE pii IS NOT NULL {after} ORDER BY id LIMIT :n"
    for page in _rows(select):
        updates = []
        for lead_id, blob, _ in page:
            code = json.loads(box.decrypt(bytes(blob), _context(lead_id))).get("postal_code")
            place = lookup_zip(code) if code else None
            if code:
                updates.append(
                    {
                        "id": lead_id,
                        "code": code,
                        "lat": place.latitude if place else None,
                        "lon": place.longitude if place else None,
                    }
                )
        if updates:
            conn.execute(
                sa.text(
                    "UPDATE leads SET postal_code = :code, latitude = :lat, longitude = :lon"
                    " WHERE id = :id"
                ),
                updates,
            )
    op.drop_column("leads", "zip3")
