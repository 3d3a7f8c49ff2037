"""The day's running numbers: the XXXX of a dossier code per receiving agency, and queue tickets per agency."""

from __future__ import annotations

import functools
from datetime import date
from typing import Any

from sqlalchemy import Table, bindparam, case
from sqlalchemy.ext.asyncio import AsyncSession

from libs.common.db import upsert
from services.intake.models import DossierSequence

SEQUENCES: Table = DossierSequence.__table__  # type: ignore[assignment]


def _dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


@functools.cache
def _next_statement(dialect: str) -> Any:
    # built once per dialect: every receipt runs it, and building it costs more than the database spends on it
    stmt = upsert(SEQUENCES, dialect).values(agency_code=bindparam("key"), day_on=bindparam("day"), last=1)
    return stmt.on_conflict_do_update(
        index_elements=[SEQUENCES.c.agency_code, SEQUENCES.c.day_on], set_={"last": SEQUENCES.c.last + 1}
    ).returning(SEQUENCES.c.last)


async def next_sequence(session: AsyncSession, key: str, day: date) -> int:
    """Reserve the next number of the day under ``key`` in one atomic upsert (safe under concurrent receipts).

    The upsert locks the day's row until the transaction ends: call it as late as possible."""
    result = await session.execute(_next_statement(_dialect(session)), {"key": key, "day": day})
    return int(result.scalar_one())


async def reserve_sequence(session: AsyncSession, key: str, day: date, number: int) -> None:
    """An imported dossier keeps its code: make sure the day's sequence never hands that number out again."""
    stmt = upsert(SEQUENCES, _dialect(session)).values(agency_code=key, day_on=day, last=number)
    stmt = stmt.on_conflict_do_update(
        index_elements=[SEQUENCES.c.agency_code, SEQUENCES.c.day_on],
        set_={"last": case((SEQUENCES.c.last < number, number), else_=SEQUENCES.c.last)},
    )
    await session.execute(stmt)
