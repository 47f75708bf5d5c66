from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status

from app import resources
from app.audit import service as audit
from app.catalog.models import Location, Service
from app.db import SessionDep
from app.deps import AdminCaller
from app.idempotency import idempotent
from app.practice import service as practice_service
from app.practice import settings as practice_settings
from app.practice.schemas import (
    LocationCreate,
    LocationList,
    LocationOut,
    LocationPatch,
    ScoringSettingsIn,
    ScoringSettingsOut,
    ServiceCreate,
    ServiceList,
    ServiceOut,
    ServicePatch,
)
from app.tenancy import get_owned

router = APIRouter(prefix="/v1", tags=["practice"])


@router.post("/locations", status_code=status.HTTP_201_CREATED, response_model=LocationOut)
@idempotent
async def create_location(
    body: LocationCreate, caller: AdminCaller, session: SessionDep
) -> LocationOut:
    """Add a location. City, state, coordinates and time zone derive from `postal_code`
    unless given. `services` must name existing service codes. The next lead is scored
    against it."""
    loc = await practice_service.create_location(session, caller.org_id, body)
    await audit.record(session, caller, "location.create", "location", loc.id)
    return practice_service.location_out(loc)


@router.get("/locations", response_model=LocationList)
async def list_locations(caller: AdminCaller, session: SessionDep) -> LocationList:
    """Every location of this organisation, by name."""
    rows = await practice_service.list_locations(session, caller.org_id)
    return LocationList(data=[practice_service.location_out(r) for r in rows])


@router.get("/locations/{location_id}", response_model=LocationOut)
async def get_location(
    location_id: uuid.UUID, caller: AdminCaller, session: SessionDep
) -> LocationOut:
    """One location."""
    loc = await get_owned(session, Location, location_id, caller.org_id)
    return practice_service.location_out(loc)


@router.patch("/locations/{location_id}", response_model=LocationOut)
async def update_location(
    location_id: uuid.UUID, body: LocationPatch, caller: AdminCaller, session: SessionDep
) -> LocationOut:
    """Change a location; only the fields sent change. Leads already scored keep their
    decisions (re-score one with `PATCH /v1/leads/{id}/facts`)."""
    loc, fields = await practice_service.update_location(session, caller.org_id, location_id, body)
    await resources.record_change(session, caller, "location.update", "location", loc.id, fields)
    return practice_service.location_out(loc)


@router.delete("/locations/{location_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_location(
    location_id: uuid.UUID, caller: AdminCaller, session: SessionDep
) -> Response:
    """Remove a location. Leads already assigned to it keep its id."""
    await practice_service.delete_location(session, caller.org_id, location_id)
    return await resources.deleted(session, caller, "location.delete", "location", location_id)


@router.post("/services", status_code=status.HTTP_201_CREATED, response_model=ServiceOut)
@idempotent
async def create_service(
    body: ServiceCreate, caller: AdminCaller, session: SessionDep
) -> ServiceOut:
    """Add a service with the phrases that map free text to it. A code already used in
    this organisation is 409."""
    service = await practice_service.create_service(session, caller.org_id, body)
    await audit.record(
        session, caller, "service.create", "service", service.id, {"code": service.code}
    )
    return ServiceOut.model_validate(service)


@router.get("/services", response_model=ServiceList)
async def list_services(caller: AdminCaller, session: SessionDep) -> ServiceList:
    """Every service of this organisation, by code."""
    return ServiceList.of(await practice_service.list_services(session, caller.org_id))


@router.get("/services/{service_id}", response_model=ServiceOut)
async def get_service(
    service_id: uuid.UUID, caller: AdminCaller, session: SessionDep
) -> ServiceOut:
    """One service."""
    return ServiceOut.model_validate(await get_owned(session, Service, service_id, caller.org_id))


@router.patch("/services/{service_id}", response_model=ServiceOut)
async def update_service(
    service_id: uuid.UUID, body: ServicePatch, caller: AdminCaller, session: SessionDep
) -> ServiceOut:
    """Change a service; phrase lists sent replace the stored ones. The next lead uses them."""
    service, fields = await practice_service.update_service(
        session, caller.org_id, service_id, body
    )
    await resources.record_change(session, caller, "service.update", "service", service.id, fields)
    return ServiceOut.model_validate(service)


@router.delete("/services/{service_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_service(
    service_id: uuid.UUID, caller: AdminCaller, session: SessionDep
) -> Response:
    """Remove a service. 409 while a location still offers it."""
    await practice_service.delete_service(session, caller.org_id, service_id)
    return await resources.deleted(session, caller, "service.delete", "service", service_id)


@router.get("/scoring-settings", response_model=ScoringSettingsOut)
async def get_scoring_settings(caller: AdminCaller, session: SessionDep) -> ScoringSettingsOut:
    """Weights, band thresholds, organisation red flags and the duplicate window
    (defaults until first set)."""
    return practice_settings.to_out(await practice_settings.get_row(session, caller.org_id))


@router.put("/scoring-settings", response_model=ScoringSettingsOut)
async def put_scoring_settings(
    body: ScoringSettingsIn, caller: AdminCaller, session: SessionDep
) -> ScoringSettingsOut:
    """Replace the scoring settings. Weights must add up to 100 and thresholds satisfy
    0 ≤ warm ≤ hot ≤ 100, else 422 with `errors`. Each lead stores the settings version
    it was scored with."""
    row = await practice_settings.put(session, caller.org_id, body)
    await audit.record(
        session,
        caller,
        "scoring_settings.update",
        "scoring_settings",
        row.id,
        {"settings_version": row.settings_version},
    )
    return practice_settings.to_out(row)
