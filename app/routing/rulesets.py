"""Rule sets: drafts edited freely, one published per organisation, compiled once per version.

A published or archived rule set never changes, so its compiled form is cached in the
process under (organisation, version). The live version number is cached under the
organisation's configuration version (app.configcache), which a publish bumps: that is how
a publish in one API worker is seen by every other worker with their next lead.
"""

from __future__ import annotations

import uuid
from collections import OrderedDict
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from app import configcache
from app.db import utcnow
from app.errors import Conflict, Unprocessable
from app.routing.models import Ruleset, Team
from app.routing.rules import CompiledRuleset, RuleError, compile_ruleset, validate_ruleset
from app.routing.schemas import RulesetCreate, RulesetPatch
from app.tenancy import get_owned, scoped

_CACHE_SIZE = 256
_compiled: OrderedDict[tuple[uuid.UUID, int], CompiledRuleset] = OrderedDict()


def _document(rules: list[Any]) -> dict[str, Any]:
    # Wrapped so error pointers (/rules/0/team_id) address the request body.
    return {"rules": rules}


def _raise_invalid(errors: list[RuleError]) -> None:
    if errors:
        raise Unprocessable(
            "The rule set is invalid; see `errors`.",
            type="invalid-ruleset",
            extra={"errors": [{"field": e.path, "message": e.message} for e in errors]},
        )


async def _team_ids(session: AsyncSession, org_id: uuid.UUID) -> set[str]:
    rows = await session.scalars(select(Team.id).where(Team.organization_id == org_id))
    return {str(t) for t in rows}


async def _lock(session: AsyncSession, org_id: uuid.UUID) -> None:
    """Serialises version numbering and publishing within one organisation."""
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"),
        {"k": f"routing-rulesets:{org_id}"},
    )


async def validate(session: AsyncSession, org_id: uuid.UUID, rules: list[Any]) -> None:
    _raise_invalid(validate_ruleset(_document(rules), await _team_ids(session, org_id)))


async def create(session: AsyncSession, org_id: uuid.UUID, body: RulesetCreate) -> Ruleset:
    await validate(session, org_id, body.rules)
    await _lock(session, org_id)
    last = await session.scalar(
        select(func.max(Ruleset.version)).where(Ruleset.organization_id == org_id)
    )
    ruleset = Ruleset(
        id=uuid.uuid4(),
        organization_id=org_id,
        version=(last or 0) + 1,
        name=body.name,
        status="draft",
        rules=body.rules,
    )
    session.add(ruleset)
    await session.flush()
    return ruleset


async def update_draft(
    session: AsyncSession, org_id: uuid.UUID, ruleset_id: uuid.UUID, body: RulesetPatch
) -> Ruleset:
    ruleset = await get_owned(session, Ruleset, ruleset_id, org_id, for_update=True)
    if ruleset.status != "draft":
        raise Conflict(f"A {ruleset.status} rule set cannot be edited; create a new draft.")
    if body.rules is not None:
        await validate(session, org_id, body.rules)
        ruleset.rules = body.rules
    if body.name is not None:
        ruleset.name = body.name
    await session.flush()
    return ruleset


async def delete_draft(session: AsyncSession, org_id: uuid.UUID, ruleset_id: uuid.UUID) -> None:
    ruleset = await get_owned(session, Ruleset, ruleset_id, org_id, for_update=True)
    if ruleset.status != "draft":
        raise Conflict("Only drafts can be deleted; leads refer to this version.")
    await session.delete(ruleset)
    await session.flush()


async def publish(session: AsyncSession, org_id: uuid.UUID, ruleset_id: uuid.UUID) -> Ruleset:
    """Make one rule set live and archive the previous one, in this transaction.

    An archived version can be published again, which is how a change is rolled back.
    """
    await _lock(session, org_id)
    ruleset = await get_owned(session, Ruleset, ruleset_id, org_id, for_update=True)
    if ruleset.status == "published":
        raise Conflict("This rule set is already published.")
    # Teams may have changed since the draft was saved.
    await validate(session, org_id, ruleset.rules)
    await session.execute(
        update(Ruleset)
        .where(Ruleset.organization_id == org_id, Ruleset.status == "published")
        .values(status="archived", updated_at=utcnow())
    )
    ruleset.status = "published"
    ruleset.published_at = utcnow()
    await session.flush()
    return ruleset


async def list_rulesets(session: AsyncSession, org_id: uuid.UUID) -> list[Ruleset]:
    stmt = scoped(Ruleset, org_id).order_by(Ruleset.version.desc())
    return list((await session.execute(stmt)).scalars())


def compile_row(ruleset: Ruleset) -> CompiledRuleset:
    """Compile a draft on demand (it may change); validation ran when it was saved."""
    return compile_ruleset(_document(ruleset.rules), ruleset.version)


async def live(session: AsyncSession, org_id: uuid.UUID) -> CompiledRuleset | None:
    """The published rule set, compiled at most once per (organisation, version)."""

    async def live_version() -> int | None:
        return await session.scalar(
            select(Ruleset.version).where(
                Ruleset.organization_id == org_id, Ruleset.status == "published"
            )
        )

    version = await configcache.cached(session, org_id, "ruleset", live_version)
    if version is None:
        return None
    key = (org_id, version)
    cached = _compiled.get(key)
    if cached is not None:
        _compiled.move_to_end(key)
        return cached
    rules = await session.scalar(
        select(Ruleset.rules).where(Ruleset.organization_id == org_id, Ruleset.version == version)
    )
    compiled = compile_ruleset(_document(rules or []), version)
    _compiled[key] = compiled
    if len(_compiled) > _CACHE_SIZE:
        _compiled.popitem(last=False)
    return compiled
