"""The intake service: its routers by aggregate, its consumer of the catalogue's events, its overdue job, and the
worker of its outbound deliveries (national portal, notices) when any integration is on."""

from __future__ import annotations

import asyncio
import dataclasses

import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from libs.common.app import ConsumerSpec, Runtime, create_service_app
from libs.common.calendar import CalendarBook, CalendarSettings, WorkingCalendar
from libs.common.delivery import SESSION_FLAG, DeliveryWorker
from services.intake.catalogue_replica.service import ReplicaCache
from services.intake.config import IntakeSettings, get_settings
from services.intake.consumers import OWNERS_CONSUMER, OwnerEventsContext, handlers, owner_event_handlers
from services.intake.dossiers.overdue import overdue_loop
from services.intake.dossiers.router import router as dossiers
from services.intake.forms.router import router as forms
from services.intake.imports.router import router as imports
from services.intake.integrations.outbound import Outbound, portal_settled
from services.intake.integrations.portal import PORTAL_TARGET
from services.intake.integrations.router import router as deliveries
from services.intake.integrations.targets import delivery_targets
from services.intake.queue.router import router as queue


async def _start_deliveries(rt: Runtime, settings: IntakeSettings, owners: OwnerEventsContext) -> None:
    """Off unless an integration is enabled: then one shared HTTP client, the code tables and templates (checked
    now), and the worker, woken after every request that enqueued a delivery."""
    outbound = Outbound.from_settings(settings)
    rt.extras["outbound"] = outbound
    owners.bind(outbound, rt.clock)
    if outbound is None or not settings.delivery_worker:
        return
    client = httpx.AsyncClient()
    targets = [
        dataclasses.replace(t, on_settled=portal_settled(rt.outbox)) if t.name == PORTAL_TARGET else t
        for t in delivery_targets(settings, client)
    ]
    worker = DeliveryWorker(engine=rt.engine, targets=targets, poll_seconds=settings.delivery_poll_seconds)
    rt.extras["delivery_worker"] = worker

    def wake(session: AsyncSession) -> None:
        if session.info.get(SESSION_FLAG):
            worker.wake()

    rt.after_commit.append(wake)

    async def run() -> None:
        try:
            await worker.run()
        finally:
            await worker.stop()
            await client.aclose()

    rt.tasks.append(asyncio.create_task(run(), name="intake-deliveries"))


def create_app(settings: IntakeSettings | None = None) -> FastAPI:
    settings = settings or get_settings()
    owners = OwnerEventsContext()
    owner_handlers = owner_event_handlers(owners)

    async def on_start(app: FastAPI, rt: Runtime) -> None:
        rt.extras["calendars"] = CalendarBook(WorkingCalendar.from_settings(CalendarSettings()))
        rt.extras["replica_cache"] = ReplicaCache()
        if settings.overdue_check_seconds > 0:
            rt.tasks.append(
                asyncio.create_task(
                    overdue_loop(rt, settings.overdue_check_seconds, settings.overdue_batch_size),
                    name="intake-overdue",
                )
            )
        await _start_deliveries(rt, settings, owners)

    return create_service_app(
        service="intake",
        title="motcua intake",
        description="Dossiers at the one-stop desk: receipt, appointment, lifecycle, return, rating, queue, forms.",
        settings=settings,
        routers=[dossiers, deliveries, forms, imports, queue],
        consumers=[
            ConsumerSpec(name="intake", topics=frozenset(handlers.topics), handler=handlers),
            ConsumerSpec(name=OWNERS_CONSUMER, topics=frozenset(owner_handlers.topics), handler=owner_handlers),
        ],
        on_start=on_start,
    )
