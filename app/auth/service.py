from __future__ import annotations

import datetime as dt
import secrets
import uuid
from dataclasses import dataclass, field

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import ApiKey, Organization
from app.auth.scopes import Scope
from app.auth.trail import RequestTrail
from app.crypto import keyed_hash
from app.db import utcnow
from app.errors import Unauthorized
from app.fields import coerce_aware
from app.tenancy import get_owned, scoped

KEY_PREFIX = "lr_"
# last_used_at is informational; writing it on every request would turn each read into a write.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class Caller:
    org_id: uuid.UUID
    key_id: uuid.UUID | None
    scopes: frozenset[str]
    request_id: str | None = None
    client_ip: str | None = None
    # The API request's audit trail (app.auth.trail); None outside an API request.
    trail: RequestTrail | None = field(default=None, compare=False, repr=False)

    def has(self, scope: Scope | str) -> bool:
        return Scope.ADMIN.value in self.scopes or str(scope) in self.scopes


def hash_key(token: str) -> str:
    return keyed_hash("api-key", token)


async def create_organization(
    session: AsyncSession, name: str, time_zone: str = "America/Chicago"
) -> Organization:
    org = Organization(id=uuid.uuid4(), name=name, time_zone=time_zone)
    session.add(org)
    await session.flush()
    return org


async def create_key(
    session: AsyncSession,
    org_id: uuid.UUID,
    name: str,
    scopes: list[str],
    expires_at: dt.datetime | None = None,
    created_by: uuid.UUID | None = None,
) -> tuple[ApiKey, str]:
    token = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(
        id=uuid.uuid4(),
        organization_id=org_id,
        name=name,
        prefix=token[:10],
        key_hash=hash_key(token),
        scopes=sorted(set(scopes)),
        expires_at=expires_at,
        created_by_key_id=created_by,
    )
    session.add(key)
    await session.flush()
    return key, token


# Asked on every API request: built once, so a request pays no statement construction.
_BY_HASH = select(ApiKey).where(ApiKey.key_hash == bindparam("hash"))


async def authenticate(session: AsyncSession, token: str) -> ApiKey:
    if not token.startswith(KEY_PREFIX):
        raise Unauthorized("The API key is not valid.")
    key = (await session.execute(_BY_HASH, {"hash": hash_key(token)})).scalar_one_or_none()
    now = utcnow()
    if key is None or key.revoked_at is not None:
        raise Unauthorized("The API key is not valid.")
    expires_at = coerce_aware(key.expires_at)  # older rows may hold -infinity (naive)
    if expires_at is not None and expires_at <= now:
        raise Unauthorized("The API key has expired.")
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
        await session.execute(update(ApiKey).where(ApiKey.id == key.id).values(last_used_at=now))
        key.last_used_at = now
    return key


_TOUCH = (
    update(ApiKey)
    .where(
        ApiKey.id == bindparam("key"),
        (ApiKey.last_used_at.is_(None)) | (ApiKey.last_used_at < bindparam("stale")),
    )
    .values(last_used_at=bindparam("now"))
)


async def touch(session: AsyncSession, key_id: uuid.UUID) -> None:
    """`last_used_at` for a request whose own transaction was rolled back (it failed)."""
    now = utcnow()
    await session.execute(_TOUCH, {"key": key_id, "stale": now - LAST_USED_RESOLUTION, "now": now})


async def list_keys(session: AsyncSession, org_id: uuid.UUID) -> list[ApiKey]:
    rows = await session.execute(scoped(ApiKey, org_id).order_by(ApiKey.created_at, ApiKey.id))
    return list(rows.scalars())


async def revoke_key(session: AsyncSession, org_id: uuid.UUID, key_id: uuid.UUID) -> ApiKey:
    key = await get_owned(session, ApiKey, key_id, org_id, for_update=True)
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        await session.flush()
    return key
