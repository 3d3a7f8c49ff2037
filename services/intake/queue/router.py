"""The counter queue's routes: issue, call and serve a ticket (desk officers)."""

from __future__ import annotations

from fastapi import APIRouter, status

from libs.common.auth import Role
from services.intake.context import Ctx, allow
from services.intake.domain.queue import wait_seconds
from services.intake.models import QueueTicket
from services.intake.queue import schemas as s
from services.intake.queue import service

router = APIRouter(tags=["queue"], dependencies=[allow(Role.DESK_OFFICER)])


def _ticket(ticket: QueueTicket) -> s.TicketRead:
    read = s.TicketRead.model_validate(ticket)
    if ticket.served_at is not None:
        read.wait_seconds = wait_seconds(ticket.issued_at, ticket.served_at)
    return read


@router.post("/queue/tickets", status_code=status.HTTP_201_CREATED, operation_id="issue_ticket")
async def issue_ticket(body: s.TicketCreate, ctx: Ctx) -> s.TicketRead:
    """Issue a queue ticket at a desk; numbers run through the day per agency."""
    return _ticket(await service.issue_ticket(ctx, body))


@router.post("/queue/tickets/{ticket_id}/call", operation_id="call_ticket")
async def call_ticket(ticket_id: str, body: s.TicketCall, ctx: Ctx) -> s.TicketRead:
    """Call the ticket to a desk (again, if the visitor did not come forward)."""
    return _ticket(await service.call_ticket(ctx, ticket_id, body))


@router.post("/queue/tickets/{ticket_id}/serve", operation_id="serve_ticket")
async def serve_ticket(ticket_id: str, body: s.TicketServe, ctx: Ctx) -> s.TicketRead:
    """The visitor is served: publishes ``QueueTicketServed`` with the wait from ticket to service."""
    return _ticket(await service.serve_ticket(ctx, ticket_id, body))
