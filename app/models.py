"""Every model, imported so that `Base.metadata` knows all tables (Alembic, tests)."""

from app.appointments.models import Appointment
from app.audit.models import AuditEvent
from app.auth.models import ApiKey, Organization
from app.catalog.models import Location, ScoringConfig, Service
from app.consent.models import ConsentDisclosure, ConsentEvent, Suppression
from app.console.models import ConsoleSession
from app.db import Base
from app.idempotency import IdempotencyKey
from app.intake.models import InboxDelivery
from app.integrations.models import ConsentVerification, IntegrationCredential
from app.jobs.models import Job
from app.leads.models import Lead, LeadSubmission, Source
from app.outbox.models import LeadEvent, WebhookDelivery, WebhookMessage, WebhookSubscription
from app.outreach.models import ContactAttempt
from app.privacy.models import ErasureRequest
from app.reports.models import LeadMetric, Spend
from app.routing.models import Member, Ruleset, Team, TeamRotation

__all__ = [
    "ApiKey",
    "Appointment",
    "AuditEvent",
    "Base",
    "ConsentDisclosure",
    "ConsentEvent",
    "ConsentVerification",
    "ConsoleSession",
    "ContactAttempt",
    "ErasureRequest",
    "IdempotencyKey",
    "InboxDelivery",
    "IntegrationCredential",
    "Job",
    "Lead",
    "LeadEvent",
    "LeadMetric",
    "LeadSubmission",
    "Location",
    "Member",
    "Organization",
    "Ruleset",
    "ScoringConfig",
    "Service",
    "Source",
    "Spend",
    "Suppression",
    "Team",
    "TeamRotation",
    "WebhookDelivery",
    "WebhookMessage",
    "WebhookSubscription",
]
