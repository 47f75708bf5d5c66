"""Locations and services: CRUD that keeps the compiled-practice cache honest.

Every write calls `bump` in the same transaction, so the next lead (in any process)
reads a new `practice_version` and recompiles.
"""

from __future__ import annotations

import uuid
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog.models import Location, Service
from app.catalog.versions import bump
from app.errors import Conflict, Unprocessable
from app.hours import HoursError, parse_hours
from app.leads.normalize import lookup_zip, zip5
from app.practice.schemas import (
    LocationCreate,
    LocationOut,
    LocationPatch,
    ServiceCreate,
    ServicePatch,
    hours_out,
)
from app.tenancy import get_owned, scoped

_REQUIRED = ("name", "postal_code", "accepts_new_patients", "insurance_plans")
_PLAIN = ("name", "address", "phone", "accepts_new_patients", "min_age", "max_age",
          "service_radius_miles")  # fmt: skip

Row = TypeVar("Row", Location, Service)


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def location_out(loc: Location) -> LocationOut:
    return LocationOut(
        id=loc.id,
        name=loc.name,
        address=loc.address,
        city=loc.city,
        state=loc.state,
        postal_code=loc.postal_code,
        latitude=loc.latitude,
        longitude=loc.longitude,
        time_zone=loc.time_zone,
        geo_overridden=loc.geo_overridden,
        phone=loc.phone,
        hours=hours_out(loc.hours),
        holidays=loc.hours.get("holidays", []),
        services=loc.services,
        accepts_new_patients=loc.accepts_new_patients,
        languages=loc.languages,
        insurance_plans="all" if loc.insurance_accepted is None else loc.insurance_accepted,
        min_age=loc.min_age,
        max_age=loc.max_age,
        service_radius_miles=loc.service_radius_miles,
        service_zips=loc.service_zips,
        scheduler_ids=loc.scheduler_ids,
        created_at=loc.created_at,
        updated_at=loc.updated_at,
    )


def _apply_geo(loc: Location, changes: dict[str, Any], zip_changed: bool) -> None:
    info = lookup_zip(loc.postal_code) if zip_changed else None
    if zip_changed:
        loc.state = info.state if info else None
        loc.city = changes.get("city") or (info.city if info else None)
        loc.geo_overridden = False
    if changes.get("latitude") is not None:
        loc.latitude, loc.longitude = changes["latitude"], changes["longitude"]
        loc.geo_overridden = True
    elif zip_changed:
        if info is None or info.latitude is None or info.longitude is None:
            raise Unprocessable(
                "The ZIP has no known coordinates; send `latitude` and `longitude`.",
                extra={"errors": [{"field": "postal_code", "message": "unknown ZIP"}]},
            )
        loc.latitude, loc.longitude = info.latitude, info.longitude
    if changes.get("time_zone") is not None:
        try:
            ZoneInfo(changes["time_zone"])
        except (ZoneInfoNotFoundError, ValueError):
            raise Unprocessable(
                "Unknown time zone.",
                extra={"errors": [{"field": "time_zone", "message": "not an IANA time zone"}]},
            ) from None
        loc.time_zone = changes["time_zone"]
        loc.geo_overridden = True
    elif zip_changed:
        if info is None or info.time_zone is None:
            raise Unprocessable(
                "The ZIP has no known time zone; send `time_zone`.",
                extra={"errors": [{"field": "time_zone", "message": "required for this ZIP"}]},
            )
        loc.time_zone = info.time_zone


def _apply_hours(loc: Location, changes: dict[str, Any]) -> None:
    current = loc.hours or {}
    if changes.get("hours") is not None:
        week = {day: [list(iv) for iv in ivs] for day, ivs in changes["hours"].items()}
    else:
        week = hours_out(current)
    holidays = changes.get("holidays")
    if holidays is None:
        holidays = current.get("holidays", [])
    doc = {**week, "holidays": [str(d) for d in holidays]}
    try:
        loc.hours = parse_hours(doc, loc.time_zone).to_json()
    except HoursError as exc:
        raise Unprocessable(
            "Invalid opening hours.",
            extra={
                "errors": [{"field": "hours" + exc.path.replace("/", "."), "message": exc.message}]
            },
        ) from None


def _apply(loc: Location, changes: dict[str, Any]) -> None:
    nulls = [k for k in _REQUIRED if k in changes and changes[k] is None]
    if nulls:
        raise Unprocessable(
            "These fields cannot be null.",
            extra={"errors": [{"field": k, "message": "may not be null"} for k in nulls]},
        )
    for name in _PLAIN:
        if name in changes:
            setattr(loc, name, changes[name])
    zip_changed = "postal_code" in changes and zip5(changes["postal_code"]) != loc.postal_code
    if zip_changed:
        loc.postal_code = zip5(changes["postal_code"]) or changes["postal_code"]
    elif "city" in changes:
        loc.city = changes["city"]
    _apply_geo(loc, changes, zip_changed)
    _apply_hours(loc, changes)
    if "services" in changes:
        loc.services = _unique(changes["services"] or [])
    if "languages" in changes:
        loc.languages = _unique([lang.strip().lower() for lang in changes["languages"] or []])
    if "insurance_plans" in changes:
        plans = changes["insurance_plans"]
        loc.insurance_accepted = None if plans == "all" else _unique(plans)
    if "scheduler_ids" in changes:
        loc.scheduler_ids = _unique(changes["scheduler_ids"] or [])
    if "service_zips" in changes:
        zips = changes["service_zips"]
        loc.service_zips = None if zips is None else _unique([z[:5] for z in zips])
    if loc.min_age is not None and loc.max_age is not None and loc.min_age > loc.max_age:
        raise Unprocessable("`min_age` must not exceed `max_age`.")


async def _check_service_codes(session: AsyncSession, org_id: uuid.UUID, codes: list[str]) -> None:
    if not codes:
        return
    known = set(
        (
            await session.execute(
                select(Service.code).where(
                    Service.organization_id == org_id, Service.code.in_(codes)
                )
            )
        ).scalars()
    )
    unknown = [c for c in codes if c not in known]
    if unknown:
        raise Unprocessable(
            "Unknown service codes; create the services first.",
            extra={"errors": [{"field": "services", "message": f"unknown: {', '.join(unknown)}"}]},
        )


async def _saved(session: AsyncSession, org_id: uuid.UUID, row: Row) -> Row:
    """The row written, the practice's configuration version bumped, and read back."""
    await bump(session, org_id)
    await session.flush()
    await session.refresh(row)
    return row


async def create_location(
    session: AsyncSession, org_id: uuid.UUID, body: LocationCreate
) -> Location:
    loc = Location(
        id=uuid.uuid4(),
        organization_id=org_id,
        postal_code="",
        hours={},
        services=[],
        languages=[],
        accepts_new_patients=True,
        insurance_accepted=None,
        geo_overridden=False,
        scheduler_ids=[],
    )
    _apply(loc, body.model_dump(exclude_unset=True))
    await _check_service_codes(session, org_id, loc.services)
    session.add(loc)
    return await _saved(session, org_id, loc)


async def update_location(
    session: AsyncSession, org_id: uuid.UUID, location_id: uuid.UUID, body: LocationPatch
) -> tuple[Location, list[str]]:
    loc = await get_owned(session, Location, location_id, org_id, for_update=True)
    changes = body.model_dump(exclude_unset=True)
    _apply(loc, changes)
    if "services" in changes:
        await _check_service_codes(session, org_id, loc.services)
    return await _saved(session, org_id, loc), sorted(changes)


async def delete_location(session: AsyncSession, org_id: uuid.UUID, location_id: uuid.UUID) -> None:
    loc = await get_owned(session, Location, location_id, org_id, for_update=True)
    await session.delete(loc)
    await bump(session, org_id)
    await session.flush()


async def list_locations(session: AsyncSession, org_id: uuid.UUID) -> list[Location]:
    rows = await session.execute(scoped(Location, org_id).order_by(Location.name, Location.id))
    return list(rows.scalars())


async def _ensure_code_free(session: AsyncSession, org_id: uuid.UUID, code: str) -> None:
    taken = await session.execute(scoped(Service, org_id).where(Service.code == code))
    if taken.scalar_one_or_none() is not None:
        raise Conflict(f"A service with code `{code}` already exists.", type="duplicate-service")


async def create_service(session: AsyncSession, org_id: uuid.UUID, body: ServiceCreate) -> Service:
    await _ensure_code_free(session, org_id, body.code)
    service = Service(
        id=uuid.uuid4(),
        organization_id=org_id,
        code=body.code,
        name=body.name,
        synonyms=_unique(body.synonyms or []),
        urgency_phrases=_unique(body.urgency_phrases or []),
        red_flag_phrases=_unique(body.red_flag_phrases or []),
        scheduler_codes=_unique(body.scheduler_codes or []),
        new_patient_slot_types=_unique(body.new_patient_slot_types or []),
    )
    session.add(service)
    return await _saved(session, org_id, service)


async def update_service(
    session: AsyncSession, org_id: uuid.UUID, service_id: uuid.UUID, body: ServicePatch
) -> tuple[Service, list[str]]:
    service = await get_owned(session, Service, service_id, org_id, for_update=True)
    changes = body.model_dump(exclude_unset=True)
    if changes.get("code") is not None and changes["code"] != service.code:
        await _ensure_code_free(session, org_id, changes["code"])
        # Locations name services by code: a rename must not silently drop an offering.
        await session.execute(
            update(Location)
            .where(Location.organization_id == org_id, Location.services.contains([service.code]))
            .values(services=func.array_replace(Location.services, service.code, changes["code"]))
            .execution_options(synchronize_session=False)
        )
        service.code = changes["code"]
    if changes.get("name") is not None:
        service.name = changes["name"]
    for name in ("synonyms", "urgency_phrases", "red_flag_phrases", "scheduler_codes",
                 "new_patient_slot_types"):  # fmt: skip
        if name in changes:
            setattr(service, name, _unique(changes[name] or []))
    return await _saved(session, org_id, service), sorted(changes)


async def delete_service(session: AsyncSession, org_id: uuid.UUID, service_id: uuid.UUID) -> None:
    service = await get_owned(session, Service, service_id, org_id, for_update=True)
    offered = list(
        (
            await session.execute(
                select(Location.id).where(
                    Location.organization_id == org_id, Location.services.contains([service.code])
                )
            )
        ).scalars()
    )
    if offered:
        raise Conflict(
            "Locations still offer this service; remove it from them first.",
            type="service-in-use",
            extra={"location_ids": [str(i) for i in offered]},
        )
    await session.delete(service)
    await bump(session, org_id)
    await session.flush()


async def list_services(session: AsyncSession, org_id: uuid.UUID) -> list[Service]:
    rows = await session.execute(scoped(Service, org_id).order_by(Service.code))
    return list(rows.scalars())
