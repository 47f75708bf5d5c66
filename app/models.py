"""Every model, imported so that `Base.metadata` knows all tables (Alembic, tests)."""

from app.audit.models import AuditEvent
from app.auth.models import ApiKey, Organization
from app.db import Base
from app.intake.models import IdempotencyKey, InboxDelivery, Source
from app.jobs.models import Job
from app.leads.models import Lead, LeadSubmission

__all__ = [
    "ApiKey",
    "AuditEvent",
    "Base",
    "IdempotencyKey",
    "InboxDelivery",
    "Job",
    "Lead",
    "LeadSubmission",
    "Organization",
    "Source",
]
