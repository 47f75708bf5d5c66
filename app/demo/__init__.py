"""The demo organisation: what `lead-router demo` seeds before serving.

`seed` makes the practice (services, locations, sources, teams, rules) and its admin key;
`load.seed_history` gives it 90 days of past leads (app/demo/history.py says what they are
and why). Both are idempotent: a second start finds the organisation and its history.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import service as auth_service
from app.auth.models import ApiKey, Organization
from app.auth.scopes import Scope
from app.db import utcnow
from app.demo import practice, routing, sources
from app.errors import AppError
from app.leads.models import Source
from app.signatures import sign_standard_webhook

DEMO_ORG_NAME = "Lakeshore Orthopedics & Sleep (demo)"
KEY_NAME = "demo admin"
# The demo's key is kept for its data directory; a key the demo minted expires after this.
KEY_LIFETIME = dt.timedelta(days=90)


@dataclass(frozen=True)
class DemoSource:
    id: str
    kind: str
    name: str
    secret: str | None  # the demo-only secret the sender signs or authenticates with


@dataclass(frozen=True)
class DemoInfo:
    org_id: str
    admin_key: str
    created: bool
    key_reused: bool = False
    sources: list[DemoSource] = field(default_factory=list)


async def _org(session: AsyncSession) -> tuple[Organization, bool]:
    org = (
        await session.execute(select(Organization).where(Organization.name == DEMO_ORG_NAME))
    ).scalar_one_or_none()
    if org is not None:
        return org, False
    org = await auth_service.create_organization(session, DEMO_ORG_NAME, "America/Chicago")
    await practice.seed(session, org.id)
    await sources.seed_sources(session, org.id)
    await routing.seed(session, org.id)
    return org, True


async def _kept_key(session: AsyncSession, org_id: uuid.UUID, key_file: Path | None) -> str | None:
    """The key saved by an earlier start, if it still signs in to this organisation."""
    if key_file is None:
        return None
    token = await asyncio.to_thread(_read, key_file)
    if not token:
        return None
    try:
        key = await auth_service.authenticate(session, token)
    except AppError:
        return None
    return token if key.organization_id == org_id else None


async def _new_key(session: AsyncSession, org_id: uuid.UUID, key_file: Path | None) -> str:
    """A fresh admin key; the demo's earlier ones are revoked, so one stays live."""
    old = await session.execute(
        select(ApiKey).where(
            ApiKey.organization_id == org_id, ApiKey.name == KEY_NAME, ApiKey.revoked_at.is_(None)
        )
    )
    for key in old.scalars():
        key.revoked_at = utcnow()
    _, token = await auth_service.create_key(
        session, org_id, KEY_NAME, [Scope.ADMIN], expires_at=utcnow() + KEY_LIFETIME
    )
    if key_file is not None:
        await asyncio.to_thread(_write_private, key_file, token + "\n")
    return token


def _read(path: Path) -> str | None:
    return path.read_text().strip() if path.is_file() else None


def _write_private(path: Path, text: str) -> None:
    """Owner-only: the file holds a key or secrets."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)


async def seed(session: AsyncSession, key_file: Path | None = None) -> DemoInfo:
    """The demo organisation and an admin key: the one kept in `key_file` while it still
    works, else a new one (saved there). Without a file every call mints a key."""
    org, created = await _org(session)
    token = await _kept_key(session, org.id, key_file)
    reused = token is not None
    if token is None:
        token = await _new_key(session, org.id, key_file)
    return DemoInfo(str(org.id), token, created, reused, await _sources(session, org.id))


async def _sources(session: AsyncSession, org_id: uuid.UUID) -> list[DemoSource]:
    rows = await session.execute(
        select(Source).where(Source.organization_id == org_id).order_by(Source.name)
    )
    secrets = {spec["kind"]: sources.secret_of(spec) for spec in sources.DEMO_SOURCES}
    return [DemoSource(str(s.id), s.kind, s.name, secrets.get(s.kind)) for s in rows.scalars()]


SAMPLE = {
    "first_name": "Maria", "last_name": "Gonzalez", "phone": "+1 773-555-0119",
    "postal_code": "60614", "service": {"text": "knee pain doctor"},
    "consent": {"checked": True, "channels": ["voice", "sms"], "disclosure_text":
                "I agree that Lakeshore Orthopedics & Sleep may call and text me."},
}  # fmt: skip
SAMPLE_LEAD = json.dumps(SAMPLE)


def signed_curl(base: str, source: DemoSource, now: float | None = None) -> str:
    """A `curl` delivering the sample lead to a Standard Webhooks source (web form, partner),
    signed now: senders' signatures are accepted for five minutes."""
    assert source.secret is not None
    timestamp = int(now if now is not None else time.time())
    msg_id = f"msg_demo_{timestamp}"
    body = json.dumps({**SAMPLE, "external_id": msg_id}, separators=(",", ":"))
    signature = sign_standard_webhook(msg_id, timestamp, body.encode(), source.secret)
    return (
        f"curl -s {base}/v1/webhooks/{source.id} -H 'Content-Type: application/json' "
        f"-H 'webhook-id: {msg_id}' -H 'webhook-timestamp: {timestamp}' "
        f"-H 'webhook-signature: {signature}' -d '{body}'"
    )


def banner(
    info: DemoInfo,
    base: str,
    *,
    history: str | None = None,
    private_targets: bool = False,
) -> str:
    key_note = "kept from the last start" if info.key_reused else "new; kept for the next start"
    lines = [
        f"demo organisation {info.org_id} ({'created' if info.created else 'existing'})",
        *([history] if history else []),
        "",
        f"console:  {base}/console   (sign in with the key below)",
        f"admin key ({key_note}): {info.admin_key}",
        f"API docs: {base}/docs",
    ]
    if private_targets:
        lines.append(
            "development only: outbound webhooks may target loopback and private addresses "
            "(LEAD_ROUTER_ALLOW_PRIVATE_WEBHOOK_TARGETS=true)"
        )
    lines += ["", "demo sources (webhook URL, test secret):"]
    for s in info.sources:
        lines.append(f"  {s.name} [{s.kind}]: {base}/v1/webhooks/{s.id}  {s.secret or '-'}")
    lines += [
        "",
        "try:",
        f"  curl -s -H 'Authorization: Bearer {info.admin_key}' {base}/v1/sources",
        f"  curl -s -H 'Authorization: Bearer {info.admin_key}' -H 'Content-Type: "
        f"application/json' {base}/v1/leads -d '{SAMPLE_LEAD}'",
    ]
    form = next((s for s in info.sources if s.kind == "web_form" and s.secret), None)
    if form is not None:
        lines += [
            "  a signed web-form delivery (valid 5 minutes; `lead-router demo-curl` signs anew):",
            f"  {signed_curl(base, form)}",
        ]
    return "\n".join(lines)


DELIVERY_FILE = "demo-sources.json"


def save_delivery_info(data_dir: Path, base: str, info: DemoInfo) -> None:
    """What `lead-router demo-curl` signs with: the running demo's URL and form sources."""
    signed = [s.__dict__ for s in info.sources if s.kind in ("web_form", "partner")]
    _write_private(data_dir / DELIVERY_FILE, json.dumps({"base": base, "sources": signed}))


def fresh_curl(data_dir: Path, kind: str = "web_form") -> str:
    path = data_dir / DELIVERY_FILE
    if not path.is_file():
        return f"no demo found in {data_dir}: start it with `lead-router demo` first"
    saved = json.loads(path.read_text())
    source = next((DemoSource(**s) for s in saved["sources"] if s["kind"] == kind), None)
    if source is None:
        return f"the demo has no {kind} source"
    return signed_curl(saved["base"], source)
