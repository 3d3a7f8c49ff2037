"""Counter queue tickets: issued at a desk's dispenser, called to a desk, served there."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType


class TicketStatus(StrEnum):
    WAITING = "waiting"
    CALLED = "called"
    SERVED = "served"


class TicketCommand(StrEnum):
    CALL = "call"
    SERVE = "serve"


TICKET_TRANSITIONS: Mapping[tuple[TicketStatus, TicketCommand], TicketStatus] = MappingProxyType(
    {
        (TicketStatus.WAITING, TicketCommand.CALL): TicketStatus.CALLED,
        # a visitor who did not come forward is called again
        (TicketStatus.CALLED, TicketCommand.CALL): TicketStatus.CALLED,
        (TicketStatus.CALLED, TicketCommand.SERVE): TicketStatus.SERVED,
    }
)


def wait_seconds(issued_at: datetime, served_at: datetime) -> int:
    """Waiting time of one visit: from taking the ticket to being served at a desk (avg_wait_minutes)."""
    return max(0, int((served_at - issued_at).total_seconds()))
