from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from libs.common.db import upsert
from services.intake.models import Dossier, DossierSequence, ProcedureReplica


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
    return (await session.execute(select(ProcedureReplica.code).where(ProcedureReplica.code == code).limit(1))).first() is not None


async def next_sequence(session: AsyncSession, agency_code: str, day: date) -> int:
    """Reserve the next number of the day at ``agency_code`` in one atomic upsert (safe under concurrent receipts)."""
    table = DossierSequence.__table__
    stmt = upsert(table, session.bind.dialect.name).values(agency_code=agency_code, day_on=day, last=1)
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c.agency_code, table.c.day_on], set_={"last": table.c.last + 1}
    ).returning(table.c.last)
    return int((await session.execute(stmt)).scalar_one())


async def get_dossier(session: AsyncSession, code: str) -> Dossier | None:
    return await session.get(Dossier, code)


