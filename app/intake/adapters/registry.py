"""Every source kind that sends webhooks, by name: a new kind is its adapter module, listed
here. The source API's kinds, their settings and their secret fields derive from this list
(app.intake.source_settings).

The `api` kind has no adapter: its leads come through `POST /v1/leads` only.
"""

from __future__ import annotations

from collections.abc import Mapping

from app.intake.adapters import callrail, generic, google, meta, twilio, typeform, unbounce
from app.intake.adapters.base import Adapter

ADAPTERS: Mapping[str, Adapter] = {
    a.kind: a
    for a in (
        meta.ADAPTER,
        google.ADAPTER,
        typeform.ADAPTER,
        unbounce.ADAPTER,
        generic.WEB_FORM,
        generic.PARTNER,
        callrail.ADAPTER,
        twilio.ADAPTER,
    )
}
