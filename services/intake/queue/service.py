"""The counter queue: a ticket is issued at a desk's dispenser, called to a desk and served there."""

from __future__ import annotations

import uuid
from datetime import datetime

from libs.common.calendar import VN_TZ
from libs.common.contract import QueueTicketServed
from libs.common.errors import Forbidden
from services.intake import sequences
from services.intake.catalogue_replica import service as replica
from services.intake.context import IntakeContext
from services.intake.domain.queue import TICKET_TRANSITIONS, TicketCommand, TicketStatus, wait_seconds
from services.intake.errors import TicketNotFound, TicketTransitionNotAllowed
from services.intake.models import QueueTicket
from services.intake.queue import repository
from services.intake.queue import schemas as s


async def issue_ticket(ctx: IntakeContext, body: s.TicketCreate) -> QueueTicket:
    if not ctx.principal.scope.covers(body.agency_code):
        raise Forbidden(f"Agency {body.agency_code} is outside your scope: you cannot issue its tickets")
    at = ctx.step_time(body.at)
    level = body.level
    if level is None:
        agency = (await replica.agencies(ctx.session, {body.agency_code})).get(body.agency_code)
        level = agency.level if agency is not None else None
    number = await sequences.next_sequence(ctx.session, f"queue:{body.agency_code}", at.astimezone(VN_TZ).date())
    ticket = QueueTicket(
        id=str(uuid.uuid4()),
        number=number,
        agency_code=body.agency_code,
        level=level,
        desk=body.desk,
        status=TicketStatus.WAITING.value,
        issued_at=at,
    )
    ctx.session.add(ticket)
    await ctx.session.flush()
    return ticket


async def _ticket_step(
    ctx: IntakeContext, ticket_id: str, command: TicketCommand, at: datetime | None
) -> tuple[QueueTicket, TicketStatus, datetime]:
    ticket = await repository.lock_ticket(ctx.session, ctx.principal, ticket_id)
    if ticket is None:
        raise TicketNotFound(f"No queue ticket {ticket_id}")
    status = TicketStatus(ticket.status)
    after = TICKET_TRANSITIONS.get((status, command))
    if after is None:
        raise TicketTransitionNotAllowed(
            f"Cannot {command.value} a ticket that is {status.value}", state=status.value, command=command.value
        )
    previous = ticket.called_at or ticket.issued_at
    return ticket, after, ctx.step_time(at, previous)


async def call_ticket(ctx: IntakeContext, ticket_id: str, body: s.TicketCall) -> QueueTicket:
    ticket, after, at = await _ticket_step(ctx, ticket_id, TicketCommand.CALL, body.at)
    ticket.status = after.value
    ticket.called_at = at
    if body.desk is not None:
        ticket.desk = body.desk
    await ctx.session.flush()
    return ticket


async def serve_ticket(ctx: IntakeContext, ticket_id: str, body: s.TicketServe) -> QueueTicket:
    ticket, after, at = await _ticket_step(ctx, ticket_id, TicketCommand.SERVE, body.at)
    ticket.status = after.value
    ticket.served_at = at
    ticket.served_by = ctx.actor
    await ctx.session.flush()
    await ctx.outbox.append(
        ctx.session,
        QueueTicketServed(
            ticket_id=ticket.id,
            agency_code=ticket.agency_code,
            level=ticket.level,
            desk=ticket.desk,
            issued_at=ticket.issued_at,
            served_at=at,
            wait_seconds=wait_seconds(ticket.issued_at, at),
        ),
    )
    return ticket
