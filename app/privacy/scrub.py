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

from app.leads.normalize import zip3 as zip3

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


# Assessment entries that quote what the person wrote (phrases, evidence sentences) or the
# inputs it was made from; the codes and points around them stay. The matched words
# themselves live in the lead's encrypted document and go with it.
_ASSESSMENT_DROPPED = frozenset({"urgency_evidence", "inputs"})
_ASSESSMENT_KEPT = frozenset({"location_match", "route_hint", "practice_version"})
_CODE = re.compile(r"[a-z][a-z0-9_]*(\.[a-z0-9_]+)+")
_SERVICE_MATCH_DROPPED = frozenset({"matched_phrase", "matched_text"})


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


def routing_trace(doc: Mapping[str, Any] | None) -> dict[str, Any]:
    """The routing decisions without the free text of reassignments: their reasons live in
    the lead's encrypted document, but a reassignment recorded before that kept its reason
    in the trace."""
    out = dict(doc or {})
    if isinstance(out.get("events"), list):
        out["events"] = [
            {k: v for k, v in e.items() if k != "reason"} if isinstance(e, Mapping) else e
            for e in out["events"]
        ]
    return out
