"""The day's running numbers: the XXXX of a dossier code per receiving agency, and queue tickets per agency."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Table, case
from sqlalchemy.ext.asyncio import AsyncSession

from libs.common.db import upsert
from services.intake.models import DossierSequence

SEQUENCES: Table = DossierSequence.__table__  # type: ignore[assignment]


def _dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


async def next_sequence(session: AsyncSession, key: str, day: date) -> int:
    """Reserve the next number of the day under ``key`` in one atomic upsert (safe under concurrent receipts)."""
    stmt = upsert(SEQUENCES, _dialect(session)).values(agency_code=key, day_on=day, last=1)
    stmt = stmt.on_conflict_do_update(
        index_elements=[SEQUENCES.c.agency_code, SEQUENCES.c.day_on], set_={"last": SEQUENCES.c.last + 1}
    ).returning(SEQUENCES.c.last)
    return int((await session.execute(stmt)).scalar_one())


async def reserve_sequence(session: AsyncSession, key: str, day: date, number: int) -> None:
    """An imported dossier keeps its code: make sure the day's sequence never hands that number out again."""
    stmt = upsert(SEQUENCES, _dialect(session)).values(agency_code=key, day_on=day, last=number)
    stmt = stmt.on_conflict_do_update(
        index_elements=[SEQUENCES.c.agency_code, SEQUENCES.c.day_on],
        set_={"last": case((SEQUENCES.c.last < number, number), else_=SEQUENCES.c.last)},
    )
    await session.execute(stmt)
