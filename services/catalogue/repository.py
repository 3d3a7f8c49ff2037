"""Every query of the catalogue."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import ColumnElement, Select, and_, delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from services.catalogue.domain.text import like_patterns
from services.catalogue.models import Agency, AgencyProcedure, Procedure, ProcedureVersion


async def get_procedure(session: AsyncSession, code: str, *, lock: bool = False) -> Procedure | None:
    """The procedure; with ``lock``, held for the transaction on PostgreSQL so two decisions on it serialise."""
    stmt = select(Procedure).where(Procedure.code == code)
    if lock:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def versions(session: AsyncSession, code: str) -> Sequence[ProcedureVersion]:
    stmt = select(ProcedureVersion).where(ProcedureVersion.code == code).order_by(ProcedureVersion.version)
    return (await session.execute(stmt)).scalars().all()


async def version(session: AsyncSession, code: str, number: int) -> ProcedureVersion | None:
    stmt = select(ProcedureVersion).where(ProcedureVersion.code == code, ProcedureVersion.version == number)
    return (await session.execute(stmt)).scalar_one_or_none()


async def all_versions(session: AsyncSession) -> Sequence[ProcedureVersion]:
    return (await session.execute(select(ProcedureVersion).order_by(ProcedureVersion.id))).scalars().all()


def _like_all(column: InstrumentedAttribute[str], query: str) -> list[ColumnElement[bool]]:
    return [column.like(pattern, escape="\\") for pattern in like_patterns(query)]


def _key(value: str) -> str:
    """A LIKE pattern that finds ``|value|`` in a delimited key column."""
    return "%|" + value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "|%"


@dataclass(frozen=True)
class ProcedureFilter:
    on: date
    status: str = "in_force"  # in_force | withdrawn | all
    q: str | None = None
    code: str | None = None
    sector: str | None = None
    level: str | None = None
    agency: str | None = None
    online_level: str | None = None
    has_fees: bool | None = None
    fees_payable_online: bool | None = None
    postal_allowed: bool | None = None
    cross_boundary_allowed: bool | None = None
    inter_agency: bool | None = None
    certification: bool | None = None
    public: bool | None = None


def _procedure_query(f: ProcedureFilter) -> Select[ProcedureVersion]:
    v = ProcedureVersion
    stmt = select(v)
    if f.status == "in_force":
        # amendments close the previous version the day before, so at most one version per code matches
        stmt = stmt.where(v.in_force_from <= f.on, or_(v.in_force_until.is_(None), v.in_force_until >= f.on))
    else:
        stmt = stmt.join(Procedure, and_(Procedure.code == v.code, Procedure.latest_version == v.version))
        if f.status == "withdrawn":
            stmt = stmt.where(Procedure.withdrawn_on.is_not(None), Procedure.withdrawn_on <= f.on)
    conditions: list[ColumnElement[bool]] = []
    if f.q:
        by_name = and_(*_like_all(v.name_search, f.q))
        conditions.append(or_(by_name, v.code.startswith(f.q.strip(), autoescape=True)))
    if f.code:
        conditions.append(v.code.startswith(f.code.strip(), autoescape=True))
    if f.sector:
        conditions.append(or_(v.sector_code == f.sector, and_(*_like_all(v.sector_search, f.sector))))
    if f.level:
        conditions.append(v.levels_key.like(_key(f.level), escape="\\"))
    if f.agency:
        handled = select(AgencyProcedure.procedure_code).where(AgencyProcedure.agency_code == f.agency)
        conditions.append(or_(v.code.in_(handled), v.agencies_key.like(_key(f.agency), escape="\\")))
    if f.online_level:
        conditions.append(v.online_level == f.online_level)
    for column, wanted in (
        (v.has_fees, f.has_fees),
        (v.fees_payable_online, f.fees_payable_online),
        (v.postal_allowed, f.postal_allowed),
        (v.cross_boundary_allowed, f.cross_boundary_allowed),
        (v.inter_agency, f.inter_agency),
        (v.certification, f.certification),
        (v.public, f.public),
    ):
        if wanted is not None:
            conditions.append(column.is_(wanted))
    return stmt.where(*conditions)


async def search_procedures(
    session: AsyncSession, f: ProcedureFilter, page: int, page_size: int
) -> tuple[Sequence[ProcedureVersion], int]:
    stmt = _procedure_query(f)
    total = int((await session.execute(select(func.count()).select_from(stmt.subquery()))).scalar_one())
    rows = (
        await session.execute(stmt.order_by(ProcedureVersion.code).offset((page - 1) * page_size).limit(page_size))
    ).scalars()
    return rows.all(), total


# ---------------------------------------------------------------- agencies


async def get_agency(session: AsyncSession, code: str) -> Agency | None:
    return await session.get(Agency, code)


async def existing_procedure_codes(session: AsyncSession, wanted: set[str]) -> set[str]:
    if not wanted:
        return set()
    rows = await session.execute(select(Procedure.code).where(Procedure.code.in_(wanted)))
    return set(rows.scalars())


async def replace_agency_procedures(session: AsyncSession, agency_code: str, procedure_codes: list[str]) -> None:
    await session.execute(delete(AgencyProcedure).where(AgencyProcedure.agency_code == agency_code))
    session.add_all(AgencyProcedure(agency_code=agency_code, procedure_code=c) for c in dict.fromkeys(procedure_codes))


async def search_agencies(
    session: AsyncSession,
    *,
    q: str | None,
    level: str | None,
    parent_code: str | None,
    procedure: str | None,
    page: int,
    page_size: int,
) -> tuple[Sequence[Agency], int]:
    conditions: list[ColumnElement[bool]] = []
    if q:
        conditions.append(or_(and_(*_like_all(Agency.name_search, q)), Agency.code == q.strip()))
    if level:
        conditions.append(Agency.level == level)
    if parent_code:
        conditions.append(Agency.parent_code == parent_code)
    if procedure:
        conditions.append(
            Agency.code.in_(select(AgencyProcedure.agency_code).where(AgencyProcedure.procedure_code == procedure))
        )
    stmt = select(Agency).where(*conditions)
    total = int((await session.execute(select(func.count()).select_from(stmt.subquery()))).scalar_one())
    rows = await session.execute(stmt.order_by(Agency.code).offset((page - 1) * page_size).limit(page_size))
    return rows.scalars().all(), total
