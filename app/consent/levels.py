"""Evidence levels: what a ticked box must come with to count as prior express written
consent (47 CFR 64.1200(f)(9); the TSR record, 16 CFR 310.5(a)(8)).

- `granted`: the box was ticked, and we hold the wording shown (its text, or the version a
  source registered), the seller it names, and the capture time with where it happened: at
  least one of IP, user agent or page URL, or a TrustedForm certificate or Jornaya LeadiD
  token (which record both). A grant recorded by the practice itself
  (`POST /v1/consent/grants`) on a signed form or a recorded call may name where that is
  kept (`evidence_ref`) instead.
- `incomplete`: ticked, with a piece missing (`missing` names each). It is no written
  consent: marketing calls and texts are refused. When the wording is held, a scheduling
  call or text the person asked for may still rest on the healthcare exemption, within its
  limits (app.consent.policy).
- `denied`: the box was not ticked.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

DISCLOSURE = "disclosure"
SELLER = "seller"
CAPTURED_AT = "captured_at"
CAPTURE_CONTEXT = "capture_context"
PIECES = (DISCLOSURE, SELLER, CAPTURED_AT, CAPTURE_CONTEXT)

CONTEXT_FIELDS = ("ip", "user_agent", "page_url", "evidence_ref")
TOKEN_FIELDS = ("certificate_url", "leadid_token")


def missing_evidence(
    *,
    disclosure: str | None,
    seller: str | None,
    captured_at: dt.datetime | None,
    details: Mapping[str, object],
) -> tuple[str, ...]:
    """The pieces of written consent's evidence that are absent, in PIECES order.

    `captured_at` is the time the sender stated (consent or submission time), not our
    receipt time; a certificate or LeadiD token records the time and place itself.
    """
    token = any(details.get(f) for f in TOKEN_FIELDS)
    context = token or any(details.get(f) for f in CONTEXT_FIELDS)
    present = {
        DISCLOSURE: bool(disclosure),
        SELLER: bool(seller and seller.strip()),
        CAPTURED_AT: captured_at is not None or token,
        CAPTURE_CONTEXT: context,
    }
    return tuple(piece for piece in PIECES if not present[piece])


def decision(checked: bool, missing: tuple[str, ...]) -> str:
    if not checked:
        return "denied"
    return "incomplete" if missing else "granted"
