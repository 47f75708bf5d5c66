"""Scoring settings per organisation: weights, bands, red flags, duplicate window."""

from __future__ import annotations

import uuid
from types import MappingProxyType

from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog.models import ScoringConfig
from app.catalog.versions import bump
from app.errors import Unprocessable
from app.practice.schemas import RedFlagConcept, ScoringSettingsIn, ScoringSettingsOut
from app.scoring.core import DEFAULT_WEIGHTS, ScoringSettings, settings_problems
from app.scoring.service import DEFAULT_CONFIG
from app.tenancy import scoped

# settings_problems speaks in sentences; map each to the field an integrator should fix.
_PROBLEM_FIELDS = (
    ("unknown weight", "weights"),
    ("weights", "weights"),
    ("thresholds", "hot_threshold"),
    ("duplicate window", "duplicate_window_hours"),
)


def _field(problem: str) -> str:
    return next((f for prefix, f in _PROBLEM_FIELDS if problem.startswith(prefix)), "body")


def _validate(body: ScoringSettingsIn) -> None:
    candidate = ScoringSettings(
        weights=MappingProxyType(dict(body.weights or DEFAULT_WEIGHTS)),
        hot_threshold=body.hot_threshold,
        warm_threshold=body.warm_threshold,
        duplicate_window_hours=body.duplicate_window_hours,
    )
    problems = settings_problems(candidate)
    if problems:
        raise Unprocessable(
            "The scoring settings are not usable; see `errors`.",
            extra={"errors": [{"field": _field(p), "message": p} for p in problems]},
        )


def to_out(row: ScoringConfig | None) -> ScoringSettingsOut:
    if row is None:
        s = DEFAULT_CONFIG.settings
        return ScoringSettingsOut(
            weights=dict(s.weights),
            hot_threshold=s.hot_threshold,
            warm_threshold=s.warm_threshold,
            red_flag_phrases=list(s.red_flag_phrases),
            duplicate_window_hours=s.duplicate_window_hours,
            location_preference=s.location_preference,
            availability_horizon_days=s.availability_horizon_days,
            availability_max_miles=s.availability_max_miles,
            settings_version=0,
            practice_version=0,
            updated_at=None,
        )
    return ScoringSettingsOut(
        weights=dict(row.weights or DEFAULT_WEIGHTS),
        hot_threshold=row.hot_threshold,
        warm_threshold=row.warm_threshold,
        red_flag_phrases=list(row.red_flag_phrases),
        red_flag_concepts=[RedFlagConcept.model_validate(c) for c in row.red_flag_concepts],
        duplicate_window_hours=row.duplicate_window_hours,
        location_preference=row.location_preference,
        availability_horizon_days=row.availability_horizon_days,
        availability_max_miles=row.availability_max_miles,
        settings_version=row.settings_version,
        practice_version=row.practice_version,
        updated_at=row.updated_at,
    )


async def get_row(session: AsyncSession, org_id: uuid.UUID) -> ScoringConfig | None:
    stmt = scoped(ScoringConfig, org_id).execution_options(populate_existing=True)
    return (await session.execute(stmt)).scalar_one_or_none()


async def put(session: AsyncSession, org_id: uuid.UUID, body: ScoringSettingsIn) -> ScoringConfig:
    _validate(body)
    await bump(session, org_id, settings=True)
    row = await get_row(session, org_id)
    assert row is not None  # bump created it
    row.weights = dict(body.weights) if body.weights is not None else None
    row.hot_threshold = body.hot_threshold
    row.warm_threshold = body.warm_threshold
    row.red_flag_phrases = list(dict.fromkeys(body.red_flag_phrases))
    row.red_flag_concepts = [c.model_dump() for c in body.red_flag_concepts]
    row.duplicate_window_hours = body.duplicate_window_hours
    row.location_preference = body.location_preference
    row.availability_horizon_days = body.availability_horizon_days
    row.availability_max_miles = body.availability_max_miles
    await session.flush()
    await session.refresh(row)
    return row
