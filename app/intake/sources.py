"""Lead sources: CRUD, with kind-specific settings whose secrets are encrypted."""

from __future__ import annotations

import json
import uuid
from typing import Any

from pydantic import ValidationError
from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.crypto import cipher
from app.errors import NotFound, Unprocessable
from app.intake.schemas import SourceCreate, SourceOut, SourcePatch
from app.intake.source_settings import SETTINGS_MODELS, public_view
from app.leads.models import Source
from app.tenancy import get_owned, scoped


def _context(source_id: uuid.UUID) -> str:
    return f"source-settings:{source_id}"


def _validate(kind: str, settings: dict[str, Any]) -> dict[str, Any]:
    try:
        model = SETTINGS_MODELS[kind].model_validate(settings)
    except ValidationError as exc:
        errors = [
            {"field": "settings." + ".".join(str(p) for p in e["loc"]), "message": e["msg"]}
            for e in exc.errors(include_input=False)
        ]
        raise Unprocessable(
            f"Invalid settings for a `{kind}` source.", extra={"errors": errors}
        ) from None
    return model.model_dump(mode="json", exclude_none=True)


def secret_settings(source: Source) -> dict[str, Any]:
    """The full settings, secrets included (decrypted; never leave the process)."""
    return dict(json.loads(cipher().decrypt(source.settings_enc, _context(source.id))))


def _store_settings(source: Source, settings: dict[str, Any]) -> None:
    source.settings_enc = cipher().encrypt(json.dumps(settings), _context(source.id))
    source.public_settings = public_view(settings)


def to_out(source: Source, app_settings: Settings) -> SourceOut:
    return SourceOut(
        id=source.id,
        kind=source.kind,
        name=source.name,
        settings=source.public_settings,
        mapping=source.mapping,
        default_service=source.default_service,
        default_location_id=source.default_location_id,
        active=source.active,
        webhook_url=f"{app_settings.public_base_url.rstrip('/')}/v1/webhooks/{source.id}",
        created_at=source.created_at,
        updated_at=source.updated_at,
    )


async def create(session: AsyncSession, org_id: uuid.UUID, body: SourceCreate) -> Source:
    settings = _validate(body.kind, body.settings)
    source = Source(
        id=uuid.uuid4(),
        organization_id=org_id,
        kind=body.kind,
        name=body.name,
        mapping=body.mapping,
        default_service=body.default_service,
        default_location_id=body.default_location_id,
        active=body.active,
    )
    _store_settings(source, settings)
    session.add(source)
    await session.flush()
    await session.refresh(source)
    return source


async def update(
    session: AsyncSession, org_id: uuid.UUID, source_id: uuid.UUID, body: SourcePatch
) -> Source:
    source = await get_owned(session, Source, source_id, org_id, for_update=True)
    changes = body.model_dump(exclude_unset=True)
    if "settings" in changes and changes["settings"] is not None:
        merged = {**secret_settings(source), **changes.pop("settings")}
        _store_settings(source, _validate(source.kind, merged))
    changes.pop("settings", None)
    for field, value in changes.items():
        setattr(source, field, value)
    await session.flush()
    await session.refresh(source)
    return source


async def list_sources(session: AsyncSession, org_id: uuid.UUID) -> list[Source]:
    rows = await session.execute(scoped(Source, org_id).order_by(Source.created_at, Source.id))
    return list(rows.scalars())


# Asked on every webhook delivery: built once, so a delivery pays no statement construction.
_BY_ID = select(Source).where(Source.id == bindparam("id"))


async def get_public(session: AsyncSession, source_id: str) -> Source:
    """A source by the id in its public webhook URL (the sender has no API key)."""
    try:
        key = uuid.UUID(source_id)
    except ValueError:
        raise NotFound("No such webhook.") from None
    source = (await session.execute(_BY_ID, {"id": key})).scalar_one_or_none()
    if source is None or not source.active:
        raise NotFound("No such webhook.")
    return source
