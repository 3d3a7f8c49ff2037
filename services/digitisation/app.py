from __future__ import annotations

from fastapi import FastAPI

from libs.common.app import create_service_app
from services.digitisation.config import DigitisationSettings, get_settings
from services.digitisation.router import router


def create_app(settings: DigitisationSettings | None = None) -> FastAPI:
    # No consumers: digitisation needs nothing from other services' events; intake and reporting read its events.
    return create_service_app(
        service="digitisation",
        title="motcua digitisation",
        description="Digitised documents of citizens and organisations (the data warehouse) and their re-use in "
        "dossiers (once-only).",
        settings=settings or get_settings(),
        routers=[router],
    )
