"""Queries behind the forms, the tracking book and the parity counts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from libs.common.auth import Principal
from services.intake.domain.lifecycle import FINISHED
from services.intake.models import Dossier


async def counts_by_receiving_agency(
    session: AsyncSession, principal: Principal, start: datetime, end: datetime
) -> list[dict[str, Any]]:
    """Received and finished per receiving agency, for the agencies of the caller's scope only."""
    in_scope = principal.scope.agency_condition(Dossier.receiving_agency_code)
    received = (
        await session.execute(
            select(Dossier.receiving_agency_code, func.count())
            .where(in_scope, Dossier.received_at >= start, Dossier.received_at < end)
            .group_by(Dossier.receiving_agency_code)
        )
    ).all()
    finished = (
        await session.execute(
            select(Dossier.receiving_agency_code, func.count())
            .where(
                in_scope,
                Dossier.finished_at >= start,
                Dossier.finished_at < end,
                Dossier.status.in_([s.value for s in FINISHED]),
            )
            .group_by(Dossier.receiving_agency_code)
        )
    ).all()
    table: dict[str, dict[str, Any]] = {}
    for code, n in received:
        table.setdefault(code, {"agency_code": code, "received": 0, "finished": 0})["received"] = int(n)
    for code, n in finished:
        table.setdefault(code, {"agency_code": code, "received": 0, "finished": 0})["finished"] = int(n)
    return [table[code] for code in sorted(table)]


async def tracking_book(
    session: AsyncSession, principal: Principal, agency: str, start: datetime, end: datetime
) -> Sequence[Dossier]:
    """An agency's book, empty for an agency outside the caller's scope (the book is the receiving agency's own)."""
    stmt = (
        select(Dossier)
        .where(
            principal.scope.agency_condition(Dossier.receiving_agency_code),
            Dossier.receiving_agency_code == agency,
            Dossier.received_at >= start,
            Dossier.received_at < end,
        )
        .order_by(Dossier.received_at, Dossier.code)
    )
    return (await session.execute(stmt)).scalars().all()


async def book_entry(session: AsyncSession, dossier: Dossier, year_start: datetime) -> int:
    """The dossier's entry number in its agency's tracking book: entries run through the year in receipt order."""
    stmt = select(func.count()).where(
        Dossier.receiving_agency_code == dossier.receiving_agency_code,
        Dossier.received_at >= year_start,
        or_(
            Dossier.received_at < dossier.received_at,
            and_(Dossier.received_at == dossier.received_at, Dossier.code <= dossier.code),
        ),
    )
    return int((await session.execute(stmt)).scalar_one())
