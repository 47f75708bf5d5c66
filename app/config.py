"""Settings: one class, read from `LEAD_ROUTER_*` environment variables and `.env`."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import difflib
import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from dotenv import dotenv_values
from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER = "change-me"
MIN_SECRET_LENGTH = 32
PREFIX = "LEAD_ROUTER_"
# Read by something other than Settings: the test suite's database.
OTHER_VARIABLES = frozenset({"LEAD_ROUTER_TEST_DATABASE_URL"})


def _check_key_entries(spec: str) -> None:
    for part in spec.split(","):
        kid, _, b64 = part.strip().partition(":")
        try:
            size = len(base64.b64decode(b64, validate=True))
        except binascii.Error:
            size = 0
        if not kid or size not in (16, 24, 32):
            raise ValueError(
                "LEAD_ROUTER_ENCRYPTION_KEYS entries must be `id:base64(16, 24 or 32 bytes)`"
            )


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="LEAD_ROUTER_", env_file=".env", extra="ignore", frozen=True
    )

    environment: Literal["development", "test", "production"] = Field(
        default="production",
        description="Only `development` and `test` accept the placeholder secrets (and so "
        "a published encryption key); choose them explicitly.",
    )
    database_url: str | None = Field(
        default=None,
        description="postgresql+asyncpg://… URL. Unset: an embedded PostgreSQL is started.",
    )
    data_dir: Path = Field(
        default=Path(".lead-router"),
        description="Embedded PostgreSQL lives in DATA_DIR/pgdata.",
    )
    db_pool_size: int = Field(default=10, ge=1)
    db_max_overflow: int = Field(default=10, ge=0)
    intake_concurrency: int = Field(
        default=4,
        ge=0,
        description="Intake requests a process works on at once (the rest wait their turn); "
        "0: no limit.",
    )
    secret_key: str = Field(
        default=PLACEHOLDER,
        description="Keys the hashes of API keys and of phone numbers and emails (lookups).",
    )
    encryption_keys: str = Field(
        default=PLACEHOLDER,
        description="Comma-separated `id:base64(32 bytes)`; the first encrypts, all decrypt.",
    )
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    fhir_bundle_max_bytes: int = Field(
        default=16 * 1024 * 1024,
        ge=1024,
        description="Body limit of `POST /v1/fhir` and `PUT /v1/availability` (slot bundles).",
    )
    rate_limit_per_minute: int = Field(
        default=600, ge=0, description="Requests per API key per minute; 0 disables."
    )
    auth_failures_per_minute: int = Field(
        default=20,
        ge=0,
        description="Failed authentications per client address per minute before 429; 0 disables.",
    )
    webhook_rate_limit_per_minute: int = Field(
        default=1200, ge=0, description="Inbound webhook deliveries per source per minute."
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["json", "console"] = "json"
    migrate_on_start: bool = Field(default=True, description="Apply migrations at `serve`.")
    run_worker_in_process: bool = Field(
        default=True, description="`serve` also runs the background worker (single node)."
    )
    public_base_url: str = Field(
        default="http://localhost:8000",
        description="Public URL of this service, used in webhook URLs given to senders.",
    )
    allow_private_webhook_targets: bool = Field(
        default=False, description="Allow outbound webhooks to loopback/private addresses."
    )
    worker_poll_seconds: float = Field(default=5.0, gt=0)
    meta_graph_base_url: str = "https://graph.facebook.com"
    meta_graph_version: str = "v25.0"
    outbound_timeout_seconds: float = Field(default=10.0, gt=0)
    # --- console (the pages people use) ---
    console_idle_hours: float = Field(
        default=12.0,
        gt=0,
        description="A console sign-in ends after this many hours without a request.",
    )
    # Privacy lifecycle (app.privacy): erasure, retention, the daily purge.
    lead_retention_days: int = Field(
        default=730,
        ge=1,
        description="A lead with no submission, attempt, appointment or read for this long "
        "is erased by the daily purge.",
    )
    inbox_retention_days: int = Field(
        default=30, ge=1, description="Raw bodies of processed deliveries are dropped after."
    )
    quarantine_retention_days: int = Field(
        default=90,
        ge=1,
        description="Raw bodies of deliveries never processed (quarantined, unmatched) are "
        "kept this long for a replay, then dropped.",
    )
    job_retention_days: int = Field(
        default=14,
        ge=1,
        description="Finished background jobs (done, or dead after their last attempt) are "
        "deleted this long after they finished; they hold ids, never personal data.",
    )
    erasure_inline_limit: int = Field(
        default=200,
        ge=0,
        description="An erasure request matching more leads than this is completed by the "
        "worker rather than within the request.",
    )
    # Consent verification (app.integrations): TrustedForm and Jornaya.
    trustedform_api_url: str | None = Field(
        default=None,
        description="Replaces the scheme and host of TrustedForm certificate URLs when calling "
        "them (tests, a proxy). Only certificate URLs on cert.trustedform.com are ever called.",
    )
    trustedform_insights: bool = Field(
        default=False,
        description="Also ask TrustedForm Insights for the certificate's page URL and creation "
        "time (needs a plan with Insights).",
    )
    jornaya_api_url: str | None = Field(
        default=None, description="Replaces https://api.leadid.com (tests, a proxy)."
    )
    unverified_consent_purposes: list[Literal["marketing", "scheduling"]] = Field(
        default=["marketing"],
        description="Purposes for which a lead flagged `consent_unverified` counts as having "
        "no written consent.",
    )
    # --- consent (app.consent) ---
    revoke_all_scope: Literal["auto", "always", "never"] = Field(
        default="auto",
        description="The FCC's revoke-all rule (47 CFR 64.1200(a)(10)): a revocation of calls "
        "or texts for one purpose covers every purpose, calls and texts alike. `auto`: from "
        "`revoke_all_from` on; `always`; `never` (a revocation covers what it names).",
    )
    revoke_all_from: dt.date = Field(
        default=dt.date(2027, 1, 31),
        description="When `auto` starts applying revoke-all (delayed to 31 Jan 2027 by "
        "Order DA 26-12; move it if the FCC moves it again).",
    )
    # What `serve` holds slow and abusive clients to (app.ops.server).
    http_keep_alive_seconds: int = Field(
        default=5, ge=1, description="An idle keep-alive connection is closed after this."
    )
    http_header_timeout_seconds: float = Field(
        default=10.0, gt=0, description="A request's head must arrive within this (408)."
    )
    http_body_timeout_seconds: float = Field(
        default=30.0, gt=0, description="A request body may pause this long at most."
    )
    http_max_header_bytes: int = Field(
        default=64 * 1024, ge=4096, description="A larger request head is refused (431)."
    )
    http_max_connections: int = Field(
        default=1000,
        ge=0,
        description="Open connections per process; more answer 503 (0: no limit).",
    )
    http_backlog: int = Field(default=2048, ge=1, description="Connections waiting to be accepted.")
    bench_endpoints: bool = Field(
        default=False, description="Serve /bench/* floor endpoints (benchmarks only)."
    )

    @model_validator(mode="after")
    def _refuse_placeholders(self) -> Settings:
        if self.environment == "development" or self.environment == "test":
            return self
        for name in ("secret_key", "encryption_keys"):
            if getattr(self, name) == PLACEHOLDER:
                raise ValueError(
                    f"LEAD_ROUTER_{name.upper()} is a placeholder; set a real value, or "
                    "choose LEAD_ROUTER_ENVIRONMENT=development explicitly (personal data is "
                    "then encrypted with a key published in the source)"
                )
        if len(self.secret_key) < MIN_SECRET_LENGTH:
            raise ValueError(
                f"LEAD_ROUTER_SECRET_KEY must be at least {MIN_SECRET_LENGTH} characters"
            )
        _check_key_entries(self.encryption_keys)
        return self

    def revoke_all(self, at: dt.datetime) -> bool:
        """Whether a revocation made at `at` falls under the revoke-all rule."""
        if self.revoke_all_scope != "auto":
            return self.revoke_all_scope == "always"
        return at.astimezone(dt.UTC).date() >= self.revoke_all_from

    @property
    def pgdata(self) -> Path:
        return self.data_dir / "pgdata"


@functools.lru_cache
def get_settings() -> Settings:
    return Settings()


def unknown_variables(
    environ: Mapping[str, str], env_file: Path | None = Path(".env")
) -> list[tuple[str, str | None]]:
    """`LEAD_ROUTER_*` names (in the environment or `.env`) that no setting reads, each with
    the closest known name: a typo would otherwise leave its default silently in force."""
    known = {PREFIX + name.upper() for name in Settings.model_fields} | OTHER_VARIABLES
    names = set(environ)
    if env_file is not None and env_file.is_file():
        names |= set(dotenv_values(env_file))
    unknown = sorted(n for n in names if n.upper().startswith(PREFIX) and n.upper() not in known)
    return [(n, next(iter(difflib.get_close_matches(n.upper(), known, 1)), None)) for n in unknown]
