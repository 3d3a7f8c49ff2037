"""Queries of the replicas of the catalogue's procedures and agencies."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.models import AgencyReplica, ProcedureReplica


async def procedure_in_force(session: AsyncSession, code: str, on: date) -> ProcedureReplica | None:
    """The version of ``code`` in force on ``on`` (the newest version that started on or before that day)."""
    stmt = (
        select(ProcedureReplica)
        .where(ProcedureReplica.code == code, ProcedureReplica.in_force_from <= on)
        .order_by(ProcedureReplica.in_force_from.desc(), ProcedureReplica.version.desc())
        .limit(1)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def any_procedure_version(session: AsyncSession, code: str) -> bool:
    stmt = select(ProcedureReplica.code).where(ProcedureReplica.code == code).limit(1)
    return (await session.execute(stmt)).first() is not None


async def procedure_version(session: AsyncSession, code: str, version: int) -> ProcedureReplica | None:
    return await session.get(ProcedureReplica, (code, version))


async def agencies(session: AsyncSession, codes: set[str]) -> dict[str, AgencyReplica]:
    rows = (await session.execute(select(AgencyReplica).where(AgencyReplica.code.in_(codes)))).scalars()
    return {row.code: row for row in rows}
