"""create_app(): routers, lifespan, middleware, error handlers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

from app import errors, openapi, worker
from app.appointments.router import router as appointments_router
from app.audit.router import router as audit_router
from app.auth.router import router as api_keys_router
from app.availability.router import router as availability_router
from app.config import Settings, get_settings
from app.consent.router import router as consent_router
from app.console import mount as console
from app.db import db
from app.handoff.queue_router import router as handoff_queue_router
from app.handoff.router import router as handoff_router
from app.intake.router import router as intake_router
from app.integrations.router import router as integrations_router
from app.leads.normalize import zip_index
from app.leads.router import router as leads_router
from app.ops import failures
from app.ops import logging as ops_logging
from app.ops.inputguard import InputGuardMiddleware
from app.ops.middleware import RequestContextMiddleware
from app.ops.migrate import head_revision
from app.ops.router import router as ops_router
from app.practice.router import router as practice_router
from app.privacy.router import router as privacy_router
from app.reports.router import router as reports_router
from app.routing.router import router as routing_router

DESCRIPTION = """
lead-router sits between a practice's lead sources (landing pages, Meta and Google lead forms,
Typeform, Unbounce, call tracking, referral partners) and its intake teams. Authenticate with
`Authorization: Bearer lr_…`. Every error is `application/problem+json` (RFC 9457).
"""


def create_app(settings: Settings | None = None, *, manage_database: bool = True) -> FastAPI:
    settings = settings or get_settings()
    ops_logging.configure(settings.log_level, settings.log_format)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.migration_head = head_revision()
        # Index the ZIP table now (about 0.3 s, once per process), not on the first lead.
        await asyncio.to_thread(zip_index)
        stop = asyncio.Event()
        background = None
        if manage_database:
            db.connect(settings)
            if settings.run_worker_in_process:
                background = asyncio.create_task(worker.run_forever(settings, stop))
        try:
            yield
        finally:
            stop.set()
            if background is not None:
                await asyncio.wait_for(background, 30)
            if manage_database:
                await db.dispose()

    # Swagger UI and ReDoc from the service's own copies: /docs works without a CDN.
    app = FastAPIOffline(
        title="lead-router",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        static_url="/docs-assets",
        swagger_ui_parameters={"persistAuthorization": True},
    )
    openapi.install(app)
    app.state.settings = settings
    errors.install(app)
    failures.install(app)
    # Inner to the request context, so an oversized body is refused before it is read.
    app.add_middleware(InputGuardMiddleware)
    app.add_middleware(
        RequestContextMiddleware,
        max_body_bytes=settings.max_body_bytes,
        # Slot bundles: thousands of slots in one request.
        path_limits={p: settings.fhir_bundle_max_bytes for p in ("/v1/fhir", "/v1/availability")},
    )
    app.include_router(ops_router)
    if settings.bench_endpoints:
        # Only when enabled: a production app carries no benchmark endpoints.
        from app.ops.bench import router as bench_router

        app.include_router(bench_router)
    app.include_router(api_keys_router)
    app.include_router(intake_router)
    app.include_router(leads_router)
    app.include_router(consent_router)
    app.include_router(audit_router)
    app.include_router(practice_router)
    app.include_router(routing_router)
    app.include_router(handoff_router)
    app.include_router(handoff_queue_router)
    app.include_router(appointments_router)
    app.include_router(availability_router)
    app.include_router(reports_router)
    app.include_router(privacy_router)
    app.include_router(integrations_router)
    # The console's pages last: it renders the error handlers above as HTML for its pages.
    console.install(app)
    return app
