"""Demo sources: one of each kind, with demo-only secrets, for trying the webhooks by hand."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.intake import sources
from app.intake.schemas import SourceCreate

DEMO_DISCLOSURE = (
    "By submitting this form, I agree that Lakeshore Orthopedics & Sleep may call and text me "
    "at the number provided, including by autodialer, about scheduling. Consent is not a "
    "condition of purchase. Reply STOP to opt out."
)

DEMO_SOURCES: list[dict[str, Any]] = [
    {"kind": "api", "name": "Practice website (API)", "settings": {}},
    {
        "kind": "web_form",
        "name": "Landing page: knee pain",
        "settings": {
            "secrets": ["whsec_ZGVtby1vbmx5LXdlYi1mb3JtLXNlY3JldC0xMjM0NTY="],
            "consent": {
                "disclosure_text": DEMO_DISCLOSURE,
                "channels": ["voice", "sms"],
                "seller": "Lakeshore Orthopedics & Sleep",
            },
        },
    },
    {
        "kind": "partner",
        "name": "Referral partner: PT network",
        "settings": {"secrets": ["whsec_ZGVtby1vbmx5LXBhcnRuZXItc2VjcmV0LTEyMzQ1Ng=="]},
    },
    {
        "kind": "meta_lead_ads",
        "name": "Meta lead ads",
        "settings": {
            "app_secret": "demo-meta-app-secret",
            "verify_token": "demo-verify-token",
            "access_token": "demo-page-access-token",
        },
    },
    {
        "kind": "google_ads_lead_form",
        "name": "Google Ads lead forms",
        "settings": {"google_key": "demo-google-key"},
    },
    {
        "kind": "typeform",
        "name": "Typeform: sleep questionnaire",
        "settings": {"secret": "demo-typeform-secret"},
        "mapping": {
            "first_name": "first_name",
            "last_name": "last_name",
            "email": "email",
            "phone": "phone",
            "zip": "postal_code",
            "service": "service.text",
        },
    },
    {
        "kind": "unbounce",
        "name": "Unbounce: hip pain page",
        "settings": {"secret": "demo-unbounce-url-token"},
    },
    {
        "kind": "call_tracking",
        "name": "CallRail tracking numbers",
        "settings": {"signing_key": "demo-callrail-signing-key"},
    },
    {
        "kind": "twilio_voice",
        "name": "Twilio dialer: call status",
        "settings": {"auth_token": "demo-twilio-auth-token"},
    },
]


async def seed_sources(session: AsyncSession, org_id: uuid.UUID) -> None:
    for spec in DEMO_SOURCES:
        await sources.create(session, org_id, SourceCreate.model_validate(spec))


def secret_of(spec: dict[str, Any]) -> str | None:
    """The demo-only secret a sender of this kind signs or authenticates with."""
    settings = spec.get("settings", {})
    for name in ("secrets", "app_secret", "google_key", "secret", "signing_key", "auth_token"):
        value = settings.get(name)
        if value:
            return str(value[0] if isinstance(value, list) else value)
    return None
