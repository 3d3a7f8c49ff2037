from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from fastapi import FastAPI

from libs.common.app import ConsumerSpec, Runtime, create_service_app
from libs.common.calendar import CalendarSettings, WorkingCalendar
from libs.common.db import transaction
from libs.common.logging import get_logger
from services.intake import service
from services.intake.config import IntakeSettings, get_settings
from services.intake.consumers import handlers
from services.intake.router import router

log = get_logger(__name__)


async def check_overdue(rt: Runtime, batch_size: int = 500) -> int:
    """One pass of the overdue job: publish ``DossierOverdue`` for dossiers that passed their due time."""
    total = 0
    while True:
        async with transaction(rt.sessions) as session:
            published = await service.publish_overdue(session, rt.outbox, datetime.now(UTC), batch_size)
        total += published
        if published < batch_size:
            break
    if total and rt.relay is not None:
        rt.relay.wake()
    return total


async def overdue_loop(rt: Runtime, interval: float, batch_size: int) -> None:
    while True:
        await asyncio.sleep(interval)
        try:
            published = await check_overdue(rt, batch_size)
            if published:
                log.info("overdue dossiers published", count=published)
        except Exception as exc:  # the next pass retries; one failure must not stop the job
            log.warning("overdue check failed", error=repr(exc))


def create_app(settings: IntakeSettings | None = None) -> FastAPI:
    settings = settings or get_settings()

    async def on_start(app: FastAPI, rt: Runtime) -> None:
        app.state.calendar = WorkingCalendar.from_settings(CalendarSettings())
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
        routers=[router],
        consumers=[ConsumerSpec(name="intake", topics=frozenset(handlers.topics), handler=handlers)],
        on_start=on_start,
    )
