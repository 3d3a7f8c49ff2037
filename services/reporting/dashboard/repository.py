"""The dashboard's own queries: open dossiers near or past their due time. Every query takes the viewer's scope, so a
principal tied to an agency never loads another agency's rows."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.reporting import models as m
from services.reporting.reports.scope import Scope

F = m.DossierFact
LIMIT = 500


def _in_scope(scope: Scope) -> list[object]:
    conditions: list[object] = []
    if scope.agencies is not None:
        conditions.append(F.handling_agency_code.in_(sorted(scope.agencies)))
    if scope.levels is not None:
        conditions.append(F.handling_level.in_(sorted(scope.levels)))
    if scope.procedures is not None:
        conditions.append(F.procedure_code.in_(sorted(scope.procedures)))
    return conditions


def _open_running() -> list[object]:
    """Unfinished, not withdrawn, and not waiting for the applicant's supplement (a pause stops the clock)."""
    return [
        F.closed_at.is_(None),
        F.due_at.is_not(None),
        or_(F.pause_started_at.is_(None), F.pause_ended_at.is_not(None)),
    ]


async def due_between(session: AsyncSession, scope: Scope, start: datetime, end: datetime) -> Sequence[m.DossierFact]:
    rows = await session.execute(
        select(F)
        .where(*_open_running(), *_in_scope(scope), and_(F.due_at >= start, F.due_at < end))  # type: ignore[arg-type]
        .order_by(F.due_at, F.dossier_code)
        .limit(LIMIT)
    )
    return rows.scalars().all()


async def overdue(session: AsyncSession, scope: Scope, at: datetime) -> Sequence[m.DossierFact]:
    rows = await session.execute(
        select(F)
        .where(*_open_running(), *_in_scope(scope), F.due_at < at)  # type: ignore[arg-type]
        .order_by(F.due_at, F.dossier_code)
        .limit(LIMIT)
    )
    return rows.scalars().all()


async def procedures_of(session: AsyncSession, scope: Scope, start: datetime, end: datetime) -> list[tuple[str, str]]:
    """Procedures with dossiers received in the window in scope: (code, name), for the drill-down."""
    rows = await session.execute(
        select(F.procedure_code, F.procedure_name)
        .where(*_in_scope(scope), F.received_at >= start, F.received_at < end)  # type: ignore[arg-type]
        .where(F.procedure_code.is_not(None))
        .group_by(F.procedure_code, F.procedure_name)
        .order_by(F.procedure_code)
    )
    return [(str(code), str(name or code)) for code, name in rows.all()]
