from enum import StrEnum


class Scope(StrEnum):
    ADMIN = "admin"
    LEADS_WRITE = "leads:write"
    LEADS_READ = "leads:read"
    LEADS_ERASE = "leads:erase"
    ATTEMPTS_WRITE = "attempts:write"
    OUTCOMES_WRITE = "outcomes:write"
    CONSENT_WRITE = "consent:write"
    REPORTS_READ = "reports:read"
    # Schedules and slots from a scheduling system; `outcomes:write` may send them too.
    AVAILABILITY_WRITE = "availability:write"


ALL_SCOPES = [s.value for s in Scope]
