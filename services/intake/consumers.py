"""Handlers of the events intake consumes, registered by contract class: the catalogue's procedures and agencies."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from libs.common.contract import AgencyPublished, ProcedureAmended, ProcedurePublished, ProcedureWithdrawn
from libs.common.contract.envelope import Envelope
from libs.common.messaging.consumer import EventHandlers
from services.intake.catalogue_replica import service as replica

handlers = EventHandlers()


@handlers.on(ProcedurePublished)
@handlers.on(ProcedureAmended)
@handlers.on(ProcedureWithdrawn)
async def handle_procedure_version(
    session: AsyncSession, event: ProcedurePublished | ProcedureAmended | ProcedureWithdrawn, _envelope: Envelope
) -> None:
    await replica.store_procedure(session, event)


@handlers.on(AgencyPublished)
async def handle_agency(session: AsyncSession, event: AgencyPublished, envelope: Envelope) -> None:
    await replica.store_agency(session, event, published_at=envelope.time)
