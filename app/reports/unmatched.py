"""Unmatched spend: money of a period that meets no lead of the period.

Cost per X divides a source and campaign's spend by its leads. Spend whose source and
campaign no lead of the period carries divides by nothing: it would silently cost nothing.
The usual cause is a label where the leads carry a source id (spend imported as `google`
while the Google lead form's leads carry its source's id), so an unknown label comes with
the organisation's sources of the kind it names.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.reports.period import Period
from app.reports.schemas import UnmatchedSpend

# Words in a spend label, and the source kinds whose leads they probably meant.
KIND_WORDS: dict[str, tuple[str, ...]] = {
    "google": ("google_ads_lead_form",),
    "adwords": ("google_ads_lead_form",),
    "meta": ("meta_lead_ads",),
    "facebook": ("meta_lead_ads",),
    "instagram": ("meta_lead_ads",),
    "fb": ("meta_lead_ads",),
    "callrail": ("call_tracking",),
    "call": ("call_tracking", "twilio_voice"),
    "typeform": ("typeform",),
    "unbounce": ("unbounce",),
    "landing": ("web_form", "unbounce"),
    "web": ("web_form",),
    "referral": ("partner",),
    "partner": ("partner",),
}

# The organisation's sources, and every source label its leads carry (from the rollup:
# a few rows per day, not a scan of the leads).
SOURCES_SQL = "SELECT id::text, name, kind FROM sources WHERE organization_id = :org ORDER BY name"
LABELS_SQL = """
    SELECT DISTINCT key FROM lead_rollup
    WHERE organization_id = :org AND dim = 'source' AND key IS NOT NULL
"""


def _suggestion(label: str, sources: Sequence[tuple[str, str, str]]) -> str | None:
    words = {w for w in label.replace("_", " ").replace("-", " ").split() if w}
    kinds = {k for w in words for k in KIND_WORDS.get(w, ())}
    kinds |= {k for k in {kind for _, _, kind in sources} if k in words or k == label}
    found = [f"{name} ({sid})" for sid, name, kind in sources if kind in kinds]
    return ", ".join(found) or None


async def find(
    session: AsyncSession, period: Period, cost_rows: Sequence[Mapping[str, Any]]
) -> list[UnmatchedSpend]:
    """The period's unmatched spend, from the cost report's rows (campaign level, spend
    imported, no lead of the period): one definition for the report and the import."""
    rows = [
        r
        for r in cost_rows
        if r["level"] == 0 and r["has_spend"] and not r["leads"] and Decimal(r["spend"]) > 0
    ]
    if not rows:
        return []
    found = await session.execute(text(SOURCES_SQL), _org(period))
    sources = [(str(sid), str(name), str(kind)) for sid, name, kind in found.all()]
    labels = set((await session.execute(text(LABELS_SQL), _org(period))).scalars())
    known = {sid for sid, _, _ in sources} | labels
    out = []
    for r in rows:
        source = r["source"] or ""
        unknown = source not in known
        out.append(
            UnmatchedSpend(
                source=source,
                campaign=r["campaign"],
                spend=Decimal(r["spend"]).quantize(Decimal("0.01")),
                reason="unknown_source" if unknown else "no_matching_leads",
                suggestion=_suggestion(source, sources) if unknown else None,
            )
        )
    return out


def _org(period: Period) -> dict[str, uuid.UUID]:
    return {"org": period.org_id}
