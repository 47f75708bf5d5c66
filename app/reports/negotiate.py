"""Which representation a report request asked for: JSON or CSV, by the `Accept` header.

RFC 9110 §12.5.1: media ranges with q-values; the most specific range matching a type gives
its weight; q=0 refuses it. No header (or `*/*`) means JSON.
"""

from __future__ import annotations

from app.errors import NotAcceptable

JSON = "application/json"
CSV = "text/csv"
OFFERED = (JSON, CSV)  # in order of preference on a tie


def _ranges(accept: str) -> list[tuple[str, float]]:
    out = []
    for part in accept.split(","):
        media, *params = (p.strip() for p in part.split(";"))
        if not media:
            continue
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = min(max(float(value), 0.0), 1.0)
                except ValueError:
                    q = 0.0  # a malformed weight is not consent to that type
        out.append((media.lower(), q))
    return out


def _weight(offer: str, ranges: list[tuple[str, float]]) -> float:
    kind = offer.split("/")[0]
    best: tuple[int, float] = (-1, 0.0)  # (specificity, q)
    for media, q in ranges:
        if media == offer:
            specificity = 2
        elif media == f"{kind}/*":
            specificity = 1
        elif media == "*/*":
            specificity = 0
        else:
            continue
        if specificity > best[0]:
            best = (specificity, q)
    return best[1]


def choose(accept: str | None) -> str:
    """`application/json` or `text/csv`; 406 when the client accepts neither."""
    if not accept or not accept.strip():
        return JSON
    ranges = _ranges(accept)
    weights = {offer: _weight(offer, ranges) for offer in OFFERED}
    best = max(OFFERED, key=lambda o: (weights[o], -OFFERED.index(o)))
    if weights[best] <= 0:
        raise NotAcceptable(
            f"Reports are available as `{JSON}` or `{CSV}`.",
            extra={"available": list(OFFERED)},
        )
    return best
