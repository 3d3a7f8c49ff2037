"""Queries of the counter queue: every ticket read or changed on a caller's behalf is within its agency scope."""

from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from libs.common.auth import Principal
from services.intake.models import QueueTicket


def writable_tickets(principal: Principal) -> Select[QueueTicket]:
    """A ticket of another agency's dispenser is never loaded: 404 like a missing one."""
    return select(QueueTicket).where(principal.scope.agency_condition(QueueTicket.agency_code))


async def lock_ticket(session: AsyncSession, principal: Principal, ticket_id: str) -> QueueTicket | None:
    stmt = writable_tickets(principal).where(QueueTicket.id == ticket_id).with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()
