"""The scoring step: load the organisation's compiled practice, decide, persist on the lead.

Compiling a practice indexes every phrase, so it is cached per process, keyed by
(organisation, practice_version). The version lives on the organisation's
`scoring_configs` row and is bumped in the same transaction as every location, service
or settings change. That row is itself cached under the organisation's configuration
version (app.configcache), which its triggers bump, so a lead reads no scoring row unless
something changed, and any process sees a change with the next lead.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from app import configcache
from app.catalog.models import DEFAULT_DUPLICATE_WINDOW_HOURS, Location, ScoringConfig, Service
from app.db import utcnow
from app.leads import identity
from app.leads import status as lead_status
from app.leads.context import StepContext
from app.leads.models import Lead
from app.leads.normalize import lookup_zip
from app.scoring import availability as scoring_availability
from app.scoring.concepts import ConceptDef
from app.scoring.core import (
    DEFAULT_WEIGHTS,
    Assessment,
    LeadFacts,
    LoadedPractice,
    LocationDef,
    ScoringSettings,
    ServiceDef,
    compile_practice,
    decide,
    match_service,
)
from app.tenancy import scoped

log = structlog.get_logger("app.scoring")

NOT_CONFIGURED = {
    "code": "practice_not_configured",
    "message": "The practice has no services or no locations yet, so eligibility was not checked.",
}
_CACHE_MAX_ORGS = 512


@dataclass(frozen=True, slots=True)
class Config:
    practice_version: int
    settings_version: int
    settings: ScoringSettings
    duplicate_window_hours: int


DEFAULT_CONFIG = Config(
    0, 0, ScoringSettings(duplicate_window_hours=DEFAULT_DUPLICATE_WINDOW_HOURS, version="s0"),
    DEFAULT_DUPLICATE_WINDOW_HOURS,
)  # fmt: skip
_EMPTY = LoadedPractice(0, compile_practice((), (), DEFAULT_CONFIG.settings), configured=False)
_cache: OrderedDict[uuid.UUID, LoadedPractice] = OrderedDict()


def settings_from_row(row: ScoringConfig) -> ScoringSettings:
    return ScoringSettings(
        weights=MappingProxyType(dict(row.weights or DEFAULT_WEIGHTS)),
        hot_threshold=row.hot_threshold,
        warm_threshold=row.warm_threshold,
        red_flag_phrases=tuple(row.red_flag_phrases),
        red_flag_concepts=tuple(
            ConceptDef(c["code"], c["level"], tuple(c["patterns"]))
            for c in row.red_flag_concepts or ()
        ),
        duplicate_window_hours=row.duplicate_window_hours,
        version=f"s{row.settings_version}",
        location_preference="nearest"
        if row.location_preference == "nearest"
        else "earliest_available",
        availability_horizon_days=row.availability_horizon_days,
        availability_max_miles=row.availability_max_miles,
    )


async def load_config(session: AsyncSession, org_id: uuid.UUID) -> Config:
    """The organisation's settings row, cached under the configuration version."""

    async def load() -> Config:
        row = (
            await session.execute(
                scoped(ScoringConfig, org_id).execution_options(populate_existing=True)
            )
        ).scalar_one_or_none()
        if row is None:
            return DEFAULT_CONFIG
        return Config(
            row.practice_version,
            row.settings_version,
            settings_from_row(row),
            row.duplicate_window_hours,
        )

    return await configcache.cached(session, org_id, "scoring", load)


async def duplicate_window(session: AsyncSession, org_id: uuid.UUID) -> dt.timedelta:
    """The organisation's duplicate window, for intake dedup."""
    return dt.timedelta(hours=(await load_config(session, org_id)).duplicate_window_hours)


def _service_def(row: Service) -> ServiceDef:
    return ServiceDef(
        code=row.code,
        name=row.name,
        synonyms=tuple(row.synonyms),
        urgency_phrases=tuple(row.urgency_phrases),
        red_flag_phrases=tuple(row.red_flag_phrases),
        new_patient_slot_types=tuple(row.new_patient_slot_types),
    )


def _location_def(row: Location) -> LocationDef:
    return LocationDef(
        id=str(row.id),
        name=row.name,
        postal_code=row.postal_code,
        latitude=row.latitude,
        longitude=row.longitude,
        time_zone=row.time_zone,
        services=tuple(row.services),
        accepts_new_patients=row.accepts_new_patients,
        languages=tuple(row.languages),
        insurance_accepted=None
        if row.insurance_accepted is None
        else tuple(row.insurance_accepted),
        min_age=row.min_age,
        max_age=row.max_age,
        service_radius_miles=row.service_radius_miles,
        service_zips=None if row.service_zips is None else tuple(row.service_zips),
    )


async def load_practice(session: AsyncSession, org_id: uuid.UUID) -> LoadedPractice:
    # The version is read before the rows, so a cached entry is never older than its key.
    config = await load_config(session, org_id)
    if config.practice_version == 0:
        return _EMPTY
    hit = _cache.get(org_id)
    if hit is not None and hit.version == config.practice_version:
        _cache.move_to_end(org_id)
        return hit
    services = list((await session.execute(scoped(Service, org_id))).scalars())
    locations = list((await session.execute(scoped(Location, org_id))).scalars())
    try:
        compiled = compile_practice(
            [_service_def(s) for s in services],
            [_location_def(loc) for loc in locations],
            config.settings,
        )
    except ValueError:
        # Writes are validated, so this is a bug; the lead must still be stored and answered.
        log.error("practice_compile_failed", org_id=str(org_id))
        return _EMPTY
    loaded = LoadedPractice(
        config.practice_version,
        compiled,
        configured=bool(services) and bool(locations),
        scheduled=await scoring_availability.scheduled_services(session, org_id),
    )
    _cache[org_id] = loaded
    while len(_cache) > _CACHE_MAX_ORGS:
        _cache.popitem(last=False)
    return loaded


def lead_facts(
    lead: Lead, pii: dict[str, Any], *, consent_checked: bool, today: dt.date
) -> LeadFacts:
    dob = pii.get("date_of_birth")
    code = identity.postal_code(lead, pii)
    place = lookup_zip(code) if code else None
    return LeadFacts(
        service_code=lead.service_requested,
        service_text=pii.get("service_text"),
        reason_text=pii.get("reason"),
        urgency_field=lead.urgency_requested,
        requested_timeframe=lead.requested_timeframe,
        preferred_location=lead.preferred_location,
        postal_code=code,
        latitude=place.latitude if place else None,
        longitude=place.longitude if place else None,
        language=lead.language,
        insurance_plan=lead.insurance_plan,
        new_patient=lead.new_patient,
        date_of_birth=dt.date.fromisoformat(dob) if dob else None,
        as_of=today,
        has_phone=bool(pii.get("phone") or pii.get("phone_raw")),
        phone_valid=lead.phone_hash is not None,
        has_email=bool(pii.get("email")),
        email_valid=lead.email_hash is not None,
        consent_checked=consent_checked,
    )


def _assessment_doc(
    a: Assessment, loaded: LoadedPractice, reasons: list[dict[str, str]], inputs: dict[str, Any]
) -> dict[str, Any]:
    s, loc = a.service, a.location
    return {
        "service_match": {
            "code": s.code,
            "status": s.status,
            "method": s.method,
            "confidence": s.confidence,
            "other_codes": list(s.other_codes),
        },
        "location_match": {
            "location_id": loc.location_id,
            "name": loc.name,
            "method": loc.method,
            "distance_miles": loc.distance_miles,
            "in_service_area": loc.in_service_area,
            "offers_service": loc.offers_service,
        },
        "red_flags": list(a.red_flags),
        "concepts": [{"code": h.code, "level": h.level} for h in a.concepts],
        "language": a.language,
        "urgency_evidence": list(a.urgency_evidence),
        "safety_instruction": a.safety_instruction,
        "not_qualified_reasons": reasons,
        "score_breakdown": [
            {
                "factor": f.name,
                "points": f.points,
                "max_points": f.max_points,
                "evidence": f.evidence,
            }
            for f in a.score.factors
        ],
        "route_hint": a.route_hint,
        "practice_version": loaded.version,
        "inputs": inputs,
    }


async def assess(
    session: AsyncSession, lead: Lead, *, consent_checked: bool, now: dt.datetime
) -> dict[str, Any]:
    """Decide for a stored lead, write its scoring columns, and return the sender's answer."""
    loaded = await load_practice(session, lead.organization_id)
    pii = identity.decrypt_pii(lead)
    facts = lead_facts(lead, pii, consent_checked=consent_checked, today=now.date())
    service = match_service(facts, loaded.compiled)
    slots = await scoring_availability.slots_for(session, lead, facts, service, loaded, now)
    a = decide(facts, loaded.compiled, service=service, slots=slots)
    if loaded.configured:
        qualified: bool | None = a.qualified
        reasons = [{"code": r.code, "message": r.message} for r in a.not_qualified_reasons]
    else:
        qualified, reasons = None, [dict(NOT_CONFIGURED)]
    lead.service_code = a.service.code
    lead.location_id = uuid.UUID(a.location.location_id) if a.location.location_id else None
    lead.distance_miles = a.location.distance_miles
    lead.urgency = a.urgency
    lead.emergency = a.emergency
    lead.qualified = qualified
    lead.score = a.score.total
    lead.score_band = a.score.band
    lead.scoring_version = f"{a.score.version}+{a.score.settings_version}"
    inputs = {"consent_checked": consent_checked, "assessed_at": now.isoformat()}
    lead.assessment = _assessment_doc(a, loaded, reasons, inputs)
    offer = scoring_availability.record(lead, a, loaded.compiled.settings, now)
    _keep_evidence(lead, pii, a)
    answer: dict[str, Any] = {
        "service_code": a.service.code,
        "location_id": a.location.location_id,
        "urgency": a.urgency,
        "emergency": a.emergency,
        "qualified": qualified,
        "not_qualified_reasons": reasons,
        "score": a.score.total,
        "score_band": a.score.band,
        **offer,
    }
    if a.emergency:
        answer["safety_instruction"] = a.safety_instruction
    return answer


EVIDENCE_KEY = "assessment_evidence"


def _keep_evidence(lead: Lead, pii: dict[str, Any], a: Assessment) -> None:
    """The words that matched are the person's: they go into the lead's encrypted document,
    next to the text they came from (and are erased with it); the assessment keeps codes."""
    evidence: dict[str, Any] = {}
    if a.service.matched_phrase is not None:
        evidence["service"] = {"phrase": a.service.matched_phrase, "text": a.service.matched_text}
    if a.concepts:
        evidence["concepts"] = {h.code: h.words for h in a.concepts}
    if evidence == pii.get(EVIDENCE_KEY, {}):
        return
    if evidence:
        pii[EVIDENCE_KEY] = evidence
    else:
        pii.pop(EVIDENCE_KEY, None)
    lead.pii = identity.encrypt_pii(lead.id, pii)


def assessment_view(assessment: dict[str, Any], pii: dict[str, Any]) -> dict[str, Any]:
    """The stored assessment with the matched words put back, for a `leads:read` caller."""
    evidence = pii.get(EVIDENCE_KEY) or {}
    view = dict(assessment)
    service = evidence.get("service")
    if service and isinstance(view.get("service_match"), dict):
        view["service_match"] = {
            **view["service_match"],
            "matched_phrase": service.get("phrase"),
            "matched_text": service.get("text"),
        }
    words = evidence.get("concepts") or {}
    view["concepts"] = [
        {**c, "words": words.get(c.get("code"))} for c in view.get("concepts") or []
    ]
    return view


def stored_answer(lead: Lead) -> dict[str, Any]:
    """The decisions already on the lead, shaped like `assess`'s answer."""
    answer: dict[str, Any] = {
        "service_code": lead.service_code,
        "location_id": str(lead.location_id) if lead.location_id else None,
        "urgency": lead.urgency,
        "emergency": lead.emergency,
        "qualified": lead.qualified,
        "not_qualified_reasons": lead.assessment.get("not_qualified_reasons", []),
        "score": lead.score,
        "score_band": lead.score_band,
    }
    if lead.emergency:
        answer["safety_instruction"] = lead.assessment.get("safety_instruction")
    return answer


async def assess_lead(session: AsyncSession, ctx: StepContext) -> dict[str, Any]:
    """The pipeline's scoring step. A resubmission keeps (and answers with) its decisions;
    only a lead never scored before is scored by one."""
    if ctx.resubmission and ctx.lead.scoring_version is not None:
        loaded = await load_practice(session, ctx.lead.organization_id)
        offer = await scoring_availability.fresh_offer(session, ctx.lead, loaded.compiled, ctx.now)
        return {**stored_answer(ctx.lead), **offer}
    consent = ctx.lead_in.consent
    answer = await assess(
        session, ctx.lead, consent_checked=bool(consent and consent.checked), now=ctx.now
    )
    if ctx.resubmission:
        _refresh_if_row_decides(ctx.lead)
    else:
        lead_status.refresh(ctx.lead)
    return answer


def _refresh_if_row_decides(lead: Lead) -> None:
    # Later statuses depend on history outside the row (appointments, attempts).
    if lead.status in ("new", "routed", "not_qualified"):
        lead_status.refresh(lead)


async def rescore(session: AsyncSession, lead: Lead) -> dict[str, Any]:
    """Re-decide after a fact changed; the consent input is the one the lead arrived with."""
    consent_checked = bool(lead.assessment.get("inputs", {}).get("consent_checked", False))
    answer = await assess(session, lead, consent_checked=consent_checked, now=utcnow())
    _refresh_if_row_decides(lead)
    return answer
