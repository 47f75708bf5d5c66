"""Jornaya LeadiD authentication: the documented `Authenticate` call and what it answers.

`GET https://api.leadid.com/Authenticate?lac={account code}&id={LeadiD token}` answers
`{"authenticate": {"authentic": 1, "token": "..."}}`; `authentic: 0` means the token is not
one Jornaya issued, or can no longer be queried. Failures come back as HTTP 200 too, so the
body decides. Pure functions; `app.integrations.verification` makes the call.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from app.integrations.trustedform import Outcome

BASE = "https://api.leadid.com"
# LeadiD tokens are 36-character GUIDs.
_TOKEN = re.compile(
    r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$"
)


def valid_token(token: str) -> bool:
    return bool(_TOKEN.match(token.strip()))


def url(account_code: str, token: str, api_base: str | None) -> str:
    query = urlencode({"lac": account_code, "id": token.strip()})
    return f"{(api_base or BASE).rstrip('/')}/Authenticate?{query}"


def interpret(status_code: int, body: Any) -> Outcome:
    if status_code == 429 or status_code >= 500:
        return Outcome("error", f"Jornaya answered {status_code}", retry=True)
    if status_code in (401, 403):
        return Outcome("error", "account code refused", retry=True)
    if status_code != 200 or not isinstance(body, Mapping):
        return Outcome("error", f"Jornaya answered {status_code}")
    answer = body.get("authenticate") or body.get("audit")
    if not isinstance(answer, Mapping) or "authentic" not in answer:
        return Outcome("error", "unexpected answer")
    facts = {k: answer[k] for k in ("authentic", "reason", "transid") if k in answer}
    if "transid" in body:
        facts["transid"] = body["transid"]
    if str(answer.get("authentic")) == "1":
        return Outcome("verified", None, facts)
    reason = answer.get("reason")
    return Outcome("no_match", f"token not authentic (reason {reason})" if reason else
                   "token not authentic", facts)  # fmt: skip
