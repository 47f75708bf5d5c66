"""Every model, imported so that `Base.metadata` knows all tables (Alembic, tests)."""

from app.audit.models import AuditEvent
from app.auth.models import ApiKey, Organization
from app.db import Base

__all__ = ["ApiKey", "AuditEvent", "Base", "Organization"]
