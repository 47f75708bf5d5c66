"""Puts the console into the app: its pages, static files, headers and HTML error pages."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from app.console import intake, practice, review, signin
from app.console.pages import HERE, STATIC, SecurityHeaders, install_error_pages


def install(app: FastAPI) -> None:
    app.mount(STATIC, StaticFiles(directory=HERE / "static"), name="console-static")
    app.include_router(signin.router)
    app.include_router(review.router)
    app.include_router(intake.router)
    app.include_router(practice.router)
    install_error_pages(app)
    app.add_middleware(SecurityHeaders)
