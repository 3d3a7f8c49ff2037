from __future__ import annotations

from fastapi import FastAPI

from libs.common.app import ConsumerSpec, create_service_app
from libs.common.dossier_agencies import dossier_agency_handlers
from services.digitisation.config import DigitisationSettings, get_settings
from services.digitisation.router import router


def create_app(settings: DigitisationSettings | None = None) -> FastAPI:
    # One consumer: which agencies each dossier belongs to (receiving, handling, current), for scoping.
    agencies = dossier_agency_handlers()
    return create_service_app(
        service="digitisation",
        title="motcua digitisation",
        description="Digitised documents of citizens and organisations (the data warehouse) and their re-use in "
        "dossiers (once-only).",
        settings=settings or get_settings(),
        routers=[router],
        consumers=[
            ConsumerSpec(name="digitisation-dossier-agency", topics=frozenset(agencies.topics), handler=agencies)
        ],
    )
