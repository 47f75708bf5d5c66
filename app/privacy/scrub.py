"""What erasure keeps of a lead: pure functions over plain values, no session.

An erased lead keeps its decisions and the non-identifying facts reports count by (source,
campaign, service, location, team, times, scores), so every past report gives the same
figures. Identifiers go: names, numbers, addresses, click ids, URLs (their query strings
can carry anything), free text and every encrypted blob.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

MARKER = "[erased]"

# Attribution keys that name a campaign, not a person. Click ids (gclid, fbclid, ttclid)
# identify one ad click, so one person; landing page and referrer URLs may carry anything.
ATTRIBUTION_KEPT = frozenset(
    {
        "source",
        "campaign",
        "campaign_id",
        "adset",
        "adset_id",
        "ad",
        "ad_id",
        "form_id",
        "utm_source",
        "utm_medium",
        "utm_campaign",
        "utm_term",
        "utm_content",
    }
)

# HIPAA Safe Harbor (45 CFR 164.514(b)(2)(i)(B)): the three-digit ZIP prefixes whose areas
# hold 20,000 people or fewer (Census 2000, as HHS lists them) are reported as 000.
SMALL_ZIP3 = frozenset(
    {"036", "059", "063", "102", "203", "556", "692", "790", "821", "823", "830", "831",
     "878", "879", "884", "890", "893"}
)  # fmt: skip

# Assessment entries that quote what the person wrote (phrases, evidence sentences) or the
# inputs it was made from; the codes and points around them stay. The matched words
# themselves live in the lead's encrypted document and go with it.
_ASSESSMENT_DROPPED = frozenset({"urgency_evidence", "inputs"})
_ASSESSMENT_KEPT = frozenset({"location_match", "route_hint", "practice_version"})
_CODE = re.compile(r"[a-z][a-z0-9_]*(\.[a-z0-9_]+)+")
_SERVICE_MATCH_DROPPED = frozenset({"matched_phrase", "matched_text"})


def zip3(postal_code: str | None) -> str | None:
    """The Safe Harbor form of a ZIP: its first three digits, or 000 for small areas."""
    if not postal_code:
        return None
    digits = "".join(c for c in postal_code if c.isdigit())[:3]
    if len(digits) < 3:
        return None
    return "000" if digits in SMALL_ZIP3 else digits


def attribution(doc: Mapping[str, Any] | None) -> dict[str, Any]:
    return {k: v for k, v in (doc or {}).items() if k in ATTRIBUTION_KEPT}


def assessment(doc: Mapping[str, Any] | None) -> dict[str, Any]:
    """The assessment's codes, scores and reasons, without any of the person's words.

    Unknown keys are kept only when they hold no text (numbers, booleans, codes in lists of
    dicts are dropped with the rest): a field added later is erased unless it is plainly a
    number or a flag.
    """
    out: dict[str, Any] = {}
    for key, value in (doc or {}).items():
        if key in _ASSESSMENT_DROPPED:
            continue
        if key == "service_match" and isinstance(value, Mapping):
            out[key] = {k: v for k, v in value.items() if k not in _SERVICE_MATCH_DROPPED}
        elif key == "score_breakdown" and isinstance(value, list):
            # `evidence` sentences quote the matched phrase: the factor and points stay.
            out[key] = [
                {k: v for k, v in f.items() if k != "evidence"}
                for f in value
                if isinstance(f, Mapping)
            ]
        elif key == "concepts" and isinstance(value, list):
            # Which concepts fired and at what level: codes of our own vocabulary.
            out[key] = [
                {"code": c.get("code"), "level": c.get("level")}
                for c in value
                if isinstance(c, Mapping)
            ]
        elif key == "red_flags" and isinstance(value, list):
            out[key] = [v for v in value if _code(v)]
        elif key == "not_qualified_reasons" and isinstance(value, list):
            # A reason's message may quote the answer it refused (an insurance plan).
            out[key] = [{"code": r.get("code")} for r in value if isinstance(r, Mapping)]
        elif key in _ASSESSMENT_KEPT or _plain(value):
            out[key] = value
    return out


def _code(value: Any) -> bool:
    """A concept code (`cardiac.chest_pain`, `custom.red_flag`), never a phrase: assessments
    stored before concept codes listed the matched phrases here."""
    return isinstance(value, str) and bool(_CODE.fullmatch(value))


def _plain(value: Any) -> bool:
    return value is None or isinstance(value, bool | int | float)
