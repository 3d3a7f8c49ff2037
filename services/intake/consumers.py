from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from libs.common.contract import Envelope, ProcedureAmended, ProcedurePublished, ProcedureWithdrawn
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
