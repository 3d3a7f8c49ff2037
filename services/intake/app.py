from __future__ import annotations

from fastapi import FastAPI

from libs.common.app import ConsumerSpec, Runtime, create_service_app
from libs.common.calendar import CalendarSettings, WorkingCalendar
from services.intake.config import IntakeSettings, get_settings
from services.intake.consumers import handlers
from services.intake.router import router


def create_app(settings: IntakeSettings | None = None) -> FastAPI:
    settings = settings or get_settings()

    async def on_start(app: FastAPI, _rt: Runtime) -> None:
        app.state.calendar = WorkingCalendar.from_settings(CalendarSettings())

    return create_service_app(
        service="intake",
        title="motcua intake",
        description="Dossiers at the one-stop desk: receipt, appointment, lifecycle, return, rating.",
        settings=settings,
        routers=[router],
        consumers=[ConsumerSpec(name="intake", topics=frozenset(handlers.topics), handler=handlers)],
        on_start=on_start,
    )
