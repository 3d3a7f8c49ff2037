from __future__ import annotations

from fastapi import FastAPI

from libs.common.app import create_service_app
from services.catalogue.config import CatalogueSettings, get_settings
from services.catalogue.router import router


def create_app(settings: CatalogueSettings | None = None) -> FastAPI:
    # The catalogue consumes no events: every other service reads it through its own replica of these events.
    return create_service_app(
        service="catalogue",
        title="motcua catalogue",
        description=(
            "The province's catalogue of administrative procedures and agencies: versions published, amended and "
            "withdrawn by decision, search, import, and the events every other service keeps its replica from."
        ),
        settings=settings or get_settings(),
        routers=[router],
    )
