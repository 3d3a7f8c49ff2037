"""Every query of intake."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Table, and_, case, func, not_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from libs.common.db import upsert
from services.intake.domain.lifecycle import FINISHED, Status
from services.intake.models import AgencyReplica, Dossier, DossierSequence, DossierStep, ProcedureReplica, QueueTicket

SEQUENCES: Table = DossierSequence.__table__  # type: ignore[assignment]


def _dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


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


async def get_dossier(session: AsyncSession, code: str) -> Dossier | None:
    return await session.get(Dossier, code)


async def lock_dossier(session: AsyncSession, code: str) -> Dossier | None:
    """The dossier, locked for the rest of the transaction on PostgreSQL so that two commands serialise."""
    stmt = select(Dossier).where(Dossier.code == code).with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def steps(session: AsyncSession, code: str) -> Sequence[DossierStep]:
    stmt = select(DossierStep).where(DossierStep.dossier_code == code).order_by(DossierStep.at, DossierStep.id)
    return (await session.execute(stmt)).scalars().all()


OPEN_CLOCK = (Status.RECEIVED.value, Status.IN_PROGRESS.value)
UNFINISHED = (*OPEN_CLOCK, Status.AWAITING_SUPPLEMENT.value)


def overdue_condition(now: datetime) -> ColumnElement[bool]:
    """SQL twin of ``libs.common.contract.overdue`` for the dossiers as intake holds them at ``now``
    (docs/domain.md, "Overdue"): tested against the same table of cases."""
    return or_(
        # a second request to supplement makes the dossier late from that request on, waiting or not
        and_(Dossier.status.in_(UNFINISHED), Dossier.supplement_requests > 1),
        and_(Dossier.status.in_(OPEN_CLOCK), Dossier.due_at < now),
        # waiting: the clock stands still, overdue only if it was already late when the wait began
        and_(Dossier.status == Status.AWAITING_SUPPLEMENT.value, Dossier.paused_at > Dossier.due_at),
    )


async def list_dossiers(
    session: AsyncSession,
    *,
    now: datetime,
    agency: str | None,
    status: str | None,
    overdue: bool | None,
    due_before: datetime | None,
    page: int,
    page_size: int,
) -> tuple[Sequence[Dossier], int]:
    conditions: list[ColumnElement[bool]] = []
    if agency is not None:
        conditions.append(
            or_(
                Dossier.receiving_agency_code == agency,
                Dossier.handling_agency_code == agency,
                Dossier.current_agency_code == agency,
            )
        )
    if status is not None:
        conditions.append(Dossier.status == status)
    if overdue is True:
        conditions.append(overdue_condition(now))
    elif overdue is False:
        conditions.append(not_(overdue_condition(now)))
    if due_before is not None:
        conditions.append(Dossier.status.in_(UNFINISHED))
        conditions.append(Dossier.due_at <= due_before)
    total = int((await session.execute(select(func.count()).select_from(Dossier).where(*conditions))).scalar_one())
    stmt = (
        select(Dossier)
        .where(*conditions)
        .order_by(Dossier.due_at, Dossier.code)
        .offset((page - 1) * page_size)
        .limit(page_size)
    )
    return (await session.execute(stmt)).scalars().all(), total


async def overdue_to_publish(session: AsyncSession, now: datetime, limit: int) -> Sequence[Dossier]:
    """Unfinished dossiers past their due time whose DossierOverdue is not published yet; rows another replica is
    handling are skipped, so each is published once."""
    stmt = (
        select(Dossier)
        .where(overdue_condition(now), Dossier.overdue_published_at.is_(None))
        .order_by(Dossier.due_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return (await session.execute(stmt)).scalars().all()


async def counts_by_receiving_agency(session: AsyncSession, start: datetime, end: datetime) -> list[dict[str, Any]]:
    received = (
        await session.execute(
            select(Dossier.receiving_agency_code, func.count())
            .where(Dossier.received_at >= start, Dossier.received_at < end)
            .group_by(Dossier.receiving_agency_code)
        )
    ).all()
    finished = (
        await session.execute(
            select(Dossier.receiving_agency_code, func.count())
            .where(
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


async def tracking_book(session: AsyncSession, agency: str, start: datetime, end: datetime) -> Sequence[Dossier]:
    stmt = (
        select(Dossier)
        .where(Dossier.receiving_agency_code == agency, Dossier.received_at >= start, Dossier.received_at < end)
        .order_by(Dossier.received_at, Dossier.code)
    )
    return (await session.execute(stmt)).scalars().all()


async def lock_ticket(session: AsyncSession, ticket_id: str) -> QueueTicket | None:
    stmt = select(QueueTicket).where(QueueTicket.id == ticket_id).with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


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
