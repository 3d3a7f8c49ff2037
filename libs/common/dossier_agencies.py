"""Which agencies a dossier belongs to, for services that know a dossier only by its code (digitisation, payments).

A dossier is "own" to the agency that received it, the agency that handles it and the agency that holds it now
(after transfers), as in intake (docs/security.md, "Scoping"). The code carries only the receiving agency
(``<receiving agency>-YYMMDD-XXXX``, docs/domain.md), so each of these services keeps a small replica,
``dossier_agency``, fed from ``DossierReceived`` and ``DossierTransferred`` on the dossiers topic by a consumer of
its own (inbox-deduplicated, contract-validated like every consumer). The replica holds agency codes only, never
the applicant.

Until the replica has a dossier (the consumer lags, or Kafka is off in ``make run``) the receiving agency read from
the code still counts, so the replica only ever widens what a scope sees, by the agencies intake would grant.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, ColumnElement, String, Table, false, insert, or_, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession

from libs.common.auth import AgencyScope
from libs.common.contract import DossierReceived, DossierTransferred
from libs.common.contract.envelope import Envelope
from libs.common.db import UtcDateTime, new_metadata
from libs.common.messaging.consumer import EventHandlers

__all__ = [
    "covers_dossier",
    "dossier_agencies_metadata",
    "dossier_agency",
    "dossier_agency_handlers",
    "dossier_condition",
    "received_at",
]

dossier_agencies_metadata = new_metadata()

dossier_agency = Table(
    "dossier_agency",
    dossier_agencies_metadata,
    Column("dossier_code", String(64), primary_key=True),
    # null until the dossier's receipt is seen (a transfer consumed first: the topic was read from a later offset)
    Column("receiving_agency_code", String(40), nullable=True, index=True),
    Column("handling_agency_code", String(40), nullable=True, index=True),
    Column("current_agency_code", String(40), nullable=True, index=True),
    # when intake received it: nothing can be attached to a dossier at a time before it existed (docs/domain.md, Time)
    Column("received_at", UtcDateTime(), nullable=True),
    Column("updated_at", UtcDateTime(), nullable=False),
)


def dossier_condition(scope: AgencyScope, dossier_code: Any) -> ColumnElement[bool]:
    """A WHERE clause: the row's dossier is own to the scope: received (read from the code, or from the replica),
    handled or held now by one of its agencies. Rows with no dossier code match only a province-wide scope."""
    if scope.province_wide:
        return true()
    if not scope.agencies:
        return false()
    codes = sorted(scope.agencies)
    replica = dossier_agency.c
    known = select(replica.dossier_code).where(
        or_(
            replica.receiving_agency_code.in_(codes),
            replica.handling_agency_code.in_(codes),
            replica.current_agency_code.in_(codes),
        )
    )
    return or_(scope.dossier_condition(dossier_code), dossier_code.in_(known))


async def covers_dossier(session: AsyncSession, scope: AgencyScope, dossier_code: str) -> bool:
    """The same rule for a dossier code named in a request (a write that attaches something to a dossier)."""
    if scope.covers_dossier(dossier_code):
        return True
    if not scope.agencies:
        return False
    replica = dossier_agency.c
    row = (
        await session.execute(
            select(replica.receiving_agency_code, replica.handling_agency_code, replica.current_agency_code).where(
                replica.dossier_code == dossier_code
            )
        )
    ).first()
    return row is not None and scope.covers(*row)


async def received_at(session: AsyncSession, dossier_code: str) -> datetime | None:
    """When intake received the dossier, once the replica has seen its receipt (None before)."""
    stmt = select(dossier_agency.c.received_at).where(dossier_agency.c.dossier_code == dossier_code)
    return (await session.execute(stmt)).scalar_one_or_none()


async def _current(session: AsyncSession, dossier_code: str) -> tuple[str | None] | None:
    # One consumer per partition and the dossier code as the Kafka key: one dossier's events are applied in order,
    # one at a time, so a read-then-write needs no lock.
    stmt = select(dossier_agency.c.current_agency_code).where(dossier_agency.c.dossier_code == dossier_code)
    row = (await session.execute(stmt)).first()
    return None if row is None else (row.current_agency_code,)


async def remember_received(session: AsyncSession, event: DossierReceived, _envelope: Envelope) -> None:
    agencies = {
        "receiving_agency_code": event.receiving_agency_code,
        "handling_agency_code": event.handling_agency_code,
        "received_at": event.received_at,
    }
    existing = await _current(session, event.dossier_code)
    if existing is None:
        values = {"dossier_code": event.dossier_code, "current_agency_code": event.receiving_agency_code, **agencies}
        await session.execute(insert(dossier_agency).values(updated_at=event.received_at, **values))
        return
    # a transfer seen first already says who holds the dossier now: the receipt does not take it back
    current = existing[0] or event.receiving_agency_code
    stmt = update(dossier_agency).where(dossier_agency.c.dossier_code == event.dossier_code)
    await session.execute(stmt.values(current_agency_code=current, updated_at=event.received_at, **agencies))


async def remember_transferred(session: AsyncSession, event: DossierTransferred, _envelope: Envelope) -> None:
    if await _current(session, event.dossier_code) is None:
        values = {"dossier_code": event.dossier_code, "current_agency_code": event.to_agency_code}
        await session.execute(insert(dossier_agency).values(updated_at=event.at, **values))
        return
    stmt = update(dossier_agency).where(dossier_agency.c.dossier_code == event.dossier_code)
    await session.execute(stmt.values(current_agency_code=event.to_agency_code, updated_at=event.at))


def dossier_agency_handlers() -> EventHandlers:
    """The batch handler of a service's ``dossier_agency`` consumer (``ConsumerSpec(handler=…)``)."""
    handlers = EventHandlers()
    handlers.on(DossierReceived)(remember_received)
    handlers.on(DossierTransferred)(remember_transferred)
    return handlers
