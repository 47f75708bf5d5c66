"""One audit row for every API request that reads, creates, changes, exports or tries to
reach personal data, with its outcome (HIPAA audit controls, 45 CFR 164.312(b)).

A request passes through `app.deps.get_caller`, which opens a `RequestTrail`:

- a request that succeeds keeps the rows its services wrote (`lead.read`, `consent.revoke`,
  …, outcome `allowed`), or, if they wrote none, gets one here, in its own transaction;
- a request that fails is rolled back, rows and all: one row saying what it tried and how it
  ended (`refused` with the problem type, `not_found`, `error`) is then written in a
  transaction of its own, so it survives, before the error is answered.

Requests that only touch configuration (teams, services, reports' aggregates…) are audited
when they change something, not when they read it. Requests that fail authentication are
not attributable to an organisation and are left to the access log.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException

from app.errors import AppError

# GET routes under these read personal data (or the audit trail itself).
PERSONAL_READS = (
    "/v1/leads",
    "/v1/handoffs",
    "/v1/appointments",
    "/v1/fhir/Appointment",
    "/v1/inbox",
    "/v1/audit-events",
    "/v1/erasure-requests",
)

# The action of a request whose services wrote no row of their own (by endpoint name);
# others are named after their endpoint.
ACTIONS = {
    "get_lead": "lead.read",
    "list_leads": "lead.list",
    "create_lead": "lead.create",
    "get_consent": "consent.read",
    "contact_eligibility": "contact_eligibility.read",
    "create_revocation": "consent.revoke",
    "create_grant": "consent.grant",
    "list_attempts": "contact_attempt.list",
    "create_attempt": "contact_attempt.create",
    "lead_timeline": "lead.timeline.read",
    "list_handoffs": "handoff.list",
    "get_handoff": "handoff.packet_read",
    "claim_handoff": "handoff.claim",
    "list_appointments": "appointment.list",
    "create_appointment": "appointment.create",
    "get_appointment": "appointment.read",
    "patch_appointment": "appointment.update",
    "read_fhir_appointment": "appointment.read",
    "update_fhir_appointment": "appointment.update",
    "update_facts": "lead.facts_update",
    "reassign_lead": "lead.reassign",
    "erase": "lead.erase",
    "list_inbox": "inbox.list",
    "replay_inbox": "inbox.replay",
    "list_audit_events": "audit.list",
    "lead_access_log": "audit.access_log",
}

NOT_FOUND, REFUSED, ERROR, ALLOWED = "not_found", "refused", "error", "allowed"


@dataclass
class RequestTrail:
    """What one request did, for its audit row."""

    method: str
    route: str
    endpoint: str
    path_params: dict[str, str]
    # Rows the request's services wrote (they roll back with it if it fails).
    written: int = 0
    # Set by a service or router for the request's own row: a target not in the path (a
    # lead id in the body), the ids a list returned, ...
    target: tuple[str, str] | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def action(self) -> str:
        return ACTIONS.get(self.endpoint, self.endpoint)

    @property
    def label(self) -> str:
        """`GET /v1/leads/{lead_id}`: which endpoint, never which ids."""
        return f"{self.method} {self.route}"

    def audited(self) -> bool:
        if self.method != "GET":
            return True
        return self.route.startswith(PERSONAL_READS)

    def target_of(self, exc: BaseException | None = None) -> tuple[str | None, str | None]:
        tried = getattr(exc, "target", None) if exc is not None else None
        if tried is not None:
            return tried[0], tried[1]
        if self.target is not None:
            return self.target
        for name, value in self.path_params.items():
            if name.endswith("_id"):
                return name.removesuffix("_id"), value
        return None, None

    def note(self, target: tuple[str, uuid.UUID | str] | None = None, **details: Any) -> None:
        if target is not None:
            self.target = (target[0], str(target[1]))
        self.details.update(details)


def failure(exc: BaseException) -> tuple[str, int, str]:
    """(outcome, HTTP status, problem type) of a request that ended in `exc`."""
    if isinstance(exc, AppError):
        status, type_ = exc.status, exc.type
    elif isinstance(exc, RequestValidationError):
        status, type_ = 422, "validation-error"
    elif isinstance(exc, HTTPException):
        status, type_ = exc.status_code, f"http-{exc.status_code}"
    else:
        status, type_ = 500, "internal-error"
    if status == 404:
        return NOT_FOUND, status, type_
    return (ERROR if status >= 500 else REFUSED), status, type_
