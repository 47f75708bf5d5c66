"""The one place that applies the caller's organisation to queries on tenant data."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy import ForeignKey, Select, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.base import ExecutableOption

from app.errors import NotFound


class TenantMixin:
    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )


T = TypeVar("T", bound=TenantMixin)


def scoped(model: type[T], org_id: uuid.UUID) -> Select[T]:
    """`SELECT model WHERE organization_id = :org` — every tenant query starts here."""
    return select(model).where(model.organization_id == org_id)


async def get_owned(
    session: AsyncSession,
    model: type[T],
    obj_id: uuid.UUID | str,
    org_id: uuid.UUID,
    *,
    for_update: bool = False,
    options: Sequence[ExecutableOption] = (),
) -> T:
    """Load one row of the caller's organisation; another organisation's id is a 404."""
    try:
        key = obj_id if isinstance(obj_id, uuid.UUID) else uuid.UUID(str(obj_id))
    except ValueError:
        raise _not_found(model, obj_id) from None
    stmt = scoped(model, org_id).where(model.id == key)  # type: ignore[attr-defined]
    if options:
        stmt = stmt.options(*options)
    if for_update:
        # populate_existing: an object this session already holds is refreshed from the row
        # read under the lock; otherwise the caller would compare against what it read before
        # the lock was granted, and a concurrent change would be lost.
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    obj = (await session.execute(stmt)).scalar_one_or_none()
    if obj is None:
        raise _not_found(model, obj_id)
    return obj


def _not_found(model: type[Any], obj_id: uuid.UUID | str) -> NotFound:
    """404, carrying what was asked for to the request's audit row (a probe of another
    organisation's id is recorded against that id)."""
    error = NotFound(f"No such {_label(model)}.")
    error.target = (_label(model).replace(" ", "_"), str(obj_id)[:64])
    return error


def _label(model: type[Any]) -> str:
    return str(getattr(model, "__label__", model.__name__.lower()))
