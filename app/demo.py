"""The demo organisation: what `lead-router demo` seeds before serving."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import service as auth_service
from app.auth.models import Organization
from app.auth.scopes import Scope
from app.intake import demo as intake_demo
from app.practice import demo as practice_demo
from app.routing import demo as routing_demo

DEMO_ORG_NAME = "Lakeshore Orthopedics & Sleep (demo)"


@dataclass(frozen=True)
class DemoInfo:
    org_id: str
    admin_key: str
    created: bool


async def seed(session: AsyncSession) -> DemoInfo:
    org = (
        await session.execute(select(Organization).where(Organization.name == DEMO_ORG_NAME))
    ).scalar_one_or_none()
    created = org is None
    if org is None:
        org = await auth_service.create_organization(session, DEMO_ORG_NAME, "America/Chicago")
        await practice_demo.seed(session, org.id)
        await intake_demo.seed_sources(session, org.id)
        await routing_demo.seed(session, org.id)
    # Keys are shown once, so every demo start mints a fresh admin key.
    _, token = await auth_service.create_key(session, org.id, "demo admin", [Scope.ADMIN])
    return DemoInfo(str(org.id), token, created)


SAMPLE_LEAD = (
    '{"first_name": "Maria", "last_name": "Gonzalez", "phone": "+1 773-555-0119", '
    '"postal_code": "60614", "service": {"text": "knee pain doctor"}, '
    '"consent": {"checked": true, "channels": ["voice", "sms"], "disclosure_text": '
    '"I agree that Lakeshore Orthopedics & Sleep may call and text me."}}'
)


def banner(info: DemoInfo, host: str, port: int) -> str:
    base = f"http://{host}:{port}"
    return "\n".join(
        [
            f"demo organisation {info.org_id} ({'created' if info.created else 'existing'})",
            f"admin key (shown once): {info.admin_key}",
            f"API docs: {base}/docs",
            "try:",
            f"  curl -s -H 'Authorization: Bearer {info.admin_key}' {base}/v1/sources",
            f"  curl -s -H 'Authorization: Bearer {info.admin_key}' -H 'Content-Type: "
            f"application/json' {base}/v1/leads -d '{SAMPLE_LEAD}'",
        ]
    )
