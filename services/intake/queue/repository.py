"""Queries of the counter queue."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.models import QueueTicket


async def lock_ticket(session: AsyncSession, ticket_id: str) -> QueueTicket | None:
    stmt = select(QueueTicket).where(QueueTicket.id == ticket_id).with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()
