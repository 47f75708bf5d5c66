"""A stored routing decision as answers show it: one level, the decision's fields beside
its trace's (rules tried, teams, overflow, choice, notes), never `trace.trace`.

The lead keeps the decision as routing wrote it (`Decision.to_json`, whose `trace` holds the
trace); the lead's answer, a simulation and the console read this flat form.
"""

from __future__ import annotations

from typing import Any


def flat(doc: dict[str, Any] | None, reasons: dict[str, str] | None = None) -> dict[str, Any]:
    """The decision with its trace's fields lifted beside its own (they agree where both
    name `ruleset_version` and `emergency`); earlier and reassigning decisions alike.
    `reasons`: the reassignments' free-text reasons, kept encrypted apart, by event id."""
    if not doc:
        return {}
    out = {k: v for k, v in doc.items() if k != "trace"}
    inner = doc.get("trace")
    if isinstance(inner, dict):
        out.update(inner)
    if isinstance(out.get("previous"), list):
        out["previous"] = [_earlier(p) for p in out["previous"]]
    if isinstance(out.get("events"), list):
        out["events"] = [_event(e, reasons or {}) for e in out["events"]]
    return out


def _earlier(entry: Any) -> Any:
    if not isinstance(entry, dict) or not isinstance(entry.get("trace"), dict):
        return entry
    return {**entry, "trace": flat(entry["trace"])}


def _event(event: Any, reasons: dict[str, str]) -> Any:
    if not isinstance(event, dict):
        return event
    out = dict(event)
    if out.get("id") in reasons:
        out["reason"] = reasons[out["id"]]
    if isinstance(out.get("decision"), dict):
        out["decision"] = flat(out["decision"])
    return out
