"""The intake service: its routers by aggregate, its consumer of the catalogue's events, its overdue job."""

from __future__ import annotations

import asyncio

from fastapi import FastAPI

from libs.common.app import ConsumerSpec, Runtime, create_service_app
from libs.common.calendar import CalendarSettings, WorkingCalendar
from services.intake.config import IntakeSettings, get_settings
from services.intake.consumers import handlers
from services.intake.dossiers.overdue import overdue_loop
from services.intake.dossiers.router import router as dossiers
from services.intake.forms.router import router as forms
from services.intake.imports.router import router as imports
from services.intake.queue.router import router as queue


def create_app(settings: IntakeSettings | None = None) -> FastAPI:
    settings = settings or get_settings()

    async def on_start(app: FastAPI, rt: Runtime) -> None:
        rt.extras["calendar"] = WorkingCalendar.from_settings(CalendarSettings())
        if settings.overdue_check_seconds > 0:
            rt.tasks.append(
                asyncio.create_task(
                    overdue_loop(rt, settings.overdue_check_seconds, settings.overdue_batch_size),
                    name="intake-overdue",
                )
            )

    return create_service_app(
        service="intake",
        title="motcua intake",
        description="Dossiers at the one-stop desk: receipt, appointment, lifecycle, return, rating, queue, forms.",
        settings=settings,
        routers=[dossiers, forms, imports, queue],
        consumers=[ConsumerSpec(name="intake", topics=frozenset(handlers.topics), handler=handlers)],
        on_start=on_start,
    )
