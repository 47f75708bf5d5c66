"""What each source kind needs in `settings`, and which of it is secret (write-only)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.consent.schemas import FormConsent

Kind = Literal[
    "meta_lead_ads",
    "google_ads_lead_form",
    "typeform",
    "unbounce",
    "web_form",
    "partner",
    "call_tracking",
    "twilio_voice",
    "api",
]

Secret = str


class _Settings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    consent: FormConsent | None = None


class MetaSettings(_Settings):
    app_secret: Secret = Field(min_length=8, max_length=200)
    verify_token: Secret = Field(min_length=8, max_length=200)
    access_token: Secret = Field(min_length=8, max_length=1000)
    graph_base_url: str | None = Field(
        default=None, max_length=500, description="Default: the Graph API (setting)."
    )
    graph_version: str | None = Field(default=None, pattern=r"^v\d+\.\d+$")


class GoogleSettings(_Settings):
    google_key: Secret = Field(min_length=3, max_length=200)


class TypeformSettings(_Settings):
    secret: Secret = Field(min_length=8, max_length=200)


class UnbounceSettings(_Settings):
    secret: Secret = Field(
        min_length=16, max_length=200, description="Sent by Unbounce as `?token=` in the URL."
    )


class StandardWebhookSettings(_Settings):
    secrets: list[Secret] = Field(min_length=1, max_length=5)

    @field_validator("secrets")
    @classmethod
    def _whsec(cls, v: list[str]) -> list[str]:
        if any(not s.startswith("whsec_") or len(s) < 20 for s in v):
            raise ValueError("each secret must be a `whsec_…` Standard Webhooks secret")
        return v


class CallTrackingSettings(_Settings):
    signing_key: Secret = Field(min_length=8, max_length=200)


class TwilioVoiceSettings(_Settings):
    """Status callbacks of the calls we place (contact attempts), not leads."""

    auth_token: Secret = Field(min_length=8, max_length=200)
    public_url: str | None = Field(
        default=None,
        max_length=2000,
        pattern=r"^https?://",
        description="The callback URL exactly as configured in Twilio (scheme, host, path), "
        "when a proxy makes it differ from the source's `webhook_url`.",
    )


class ApiSettings(_Settings):
    pass


SETTINGS_MODELS: dict[str, type[_Settings]] = {
    "meta_lead_ads": MetaSettings,
    "google_ads_lead_form": GoogleSettings,
    "typeform": TypeformSettings,
    "unbounce": UnbounceSettings,
    "web_form": StandardWebhookSettings,
    "partner": StandardWebhookSettings,
    "call_tracking": CallTrackingSettings,
    "twilio_voice": TwilioVoiceSettings,
    "api": ApiSettings,
}

SECRET_FIELDS = {"app_secret", "verify_token", "access_token", "google_key", "secret",
                 "secrets", "signing_key", "auth_token"}  # fmt: skip


def public_view(settings: dict[str, Any]) -> dict[str, Any]:
    """Settings with each secret replaced by whether it is set."""
    return {
        k: ({"set": bool(v)} if k in SECRET_FIELDS else v)
        for k, v in settings.items()
        if v is not None
    }
