from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from libs.common.contract import AgencyPublished, ProcedureAmended, ProcedurePublished, ProcedureWithdrawn
from libs.common.contract.envelope import Envelope
from libs.common.messaging.consumer import EventHandlers
from services.intake import service

handlers = EventHandlers()


@handlers.on(ProcedurePublished)
@handlers.on(ProcedureAmended)
@handlers.on(ProcedureWithdrawn)
async def handle_procedure_version(
    session: AsyncSession, event: ProcedurePublished | ProcedureAmended | ProcedureWithdrawn, _envelope: Envelope
) -> None:
    await service.store_procedure(session, event)


@handlers.on(AgencyPublished)
async def handle_agency(session: AsyncSession, event: AgencyPublished, _envelope: Envelope) -> None:
    await service.store_agency(session, event)
