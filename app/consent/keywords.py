"""Recognise an inbound SMS that is, by itself, an opt-out keyword.

FCC 24-24 (89 FR 15756) makes replies of "stop", "quit", "end", "revoke",
"opt out", "cancel" and "unsubscribe" per se revocations; STOPALL is the
carrier-industry keyword for every program. Only the keyword-only reply is
matched here, on purpose: "stop by tomorrow" or "don't stop calling" must not
revoke anything. A free-text message can still be a "reasonable" revocation
under the same order; the agent reading it records that one (``via="agent"``),
because guessing intent from prose is not something a keyword list can do.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

from app.consent.rulebook import Channel

_KEYWORDS: dict[str, str] = {
    "stop": "STOP",
    "stopall": "STOPALL",
    "unsubscribe": "UNSUBSCRIBE",
    "cancel": "CANCEL",
    "end": "END",
    "quit": "QUIT",
    "revoke": "REVOKE",
    "optout": "OPT OUT",
}
_ALL_CHANNELS = frozenset(Channel)
# People type "opt-out", "opt_out" and "stop all" for the same keyword.
_JOINERS = re.compile(r"[\s\-_]+")


@dataclass(frozen=True, slots=True)
class RevocationMatch:
    keyword: str  # canonical form, e.g. "OPT OUT"
    channels: frozenset[Channel]
    via: Literal["sms-keyword"] = "sms-keyword"


def _is_edge_noise(char: str) -> bool:
    # Phones wrap replies in smart quotes and end them with "." or "!".
    return char.isspace() or unicodedata.category(char).startswith("P")


def _normalise(text: str) -> str:
    # NFKC folds the full-width letters some keyboards send into ASCII.
    folded = unicodedata.normalize("NFKC", text).casefold()
    start, end = 0, len(folded)
    while start < end and _is_edge_noise(folded[start]):
        start += 1
    while end > start and _is_edge_noise(folded[end - 1]):
        end -= 1
    return _JOINERS.sub("", folded[start:end])


def parse_revocation(text: str) -> RevocationMatch | None:
    """The keyword an SMS reply consists of, or None if it is anything else.

    STOPALL (also "stop all") revokes every channel; the other keywords
    revoke SMS, the channel they arrived on.
    """
    if len(text) > 64:
        return None  # a long message is prose, never a bare keyword
    keyword = _KEYWORDS.get(_normalise(text))
    if keyword is None:
        return None
    channels = _ALL_CHANNELS if keyword == "STOPALL" else frozenset({Channel.SMS})
    return RevocationMatch(keyword=keyword, channels=channels)
