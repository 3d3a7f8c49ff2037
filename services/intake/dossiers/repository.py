"""Queries of dossiers and their steps."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, Select, and_, false, func, not_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from libs.common.auth import Principal, Role
from services.intake.domain.lifecycle import Status
from services.intake.models import Dossier, DossierStep

STAFF_ROLES = frozenset({Role.DESK_OFFICER, Role.HANDLER, Role.LEADER, Role.OPS})


def dossier_scope(principal: Principal) -> ColumnElement[bool]:
    """The dossiers ``principal`` may read and change (docs/security.md, "Scoping"): for staff, those whose
    receiving, handling or current agency is in its scope (a dossier received across boundaries is "own" to each);
    for a portal client, those it submitted, whatever its agency scope."""
    conditions: list[ColumnElement[bool]] = []
    if principal.roles & STAFF_ROLES:
        conditions.append(
            principal.scope.agency_condition(
                Dossier.receiving_agency_code, Dossier.handling_agency_code, Dossier.current_agency_code
            )
        )
    if Role.PORTAL in principal.roles and principal.client_id:
        conditions.append(Dossier.submitted_by == principal.client_id)
    return or_(*conditions) if conditions else false()


def readable_dossiers(principal: Principal) -> Select[Dossier]:
    """Every read and write of a dossier on a caller's behalf starts from this statement (Polar's
    ``get_readable_statement``): a dossier outside the scope is never loaded, so it is a 404 like a missing one."""
    return select(Dossier).where(dossier_scope(principal))


async def get_dossier(session: AsyncSession, principal: Principal, code: str) -> Dossier | None:
    return (await session.execute(readable_dossiers(principal).where(Dossier.code == code))).scalar_one_or_none()


async def dossier_exists(session: AsyncSession, code: str) -> bool:
    """Whether the code is taken, by anyone (an imported code must stay unique); not a read on anyone's behalf."""
    return await session.get(Dossier, code) is not None


async def get_public_dossier(session: AsyncSession, code: str) -> Dossier | None:
    """The public look-up: anyone holding the code sees the public view (masked), so no scope applies."""
    return await session.get(Dossier, code)


async def lock_dossier(session: AsyncSession, principal: Principal, code: str) -> Dossier | None:
    """The dossier, if within the caller's scope, locked for the rest of the transaction on PostgreSQL so that two
    commands serialise."""
    stmt = readable_dossiers(principal).where(Dossier.code == code).with_for_update()
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
    principal: Principal,
    *,
    now: datetime,
    agency: str | None,
    status: str | None,
    overdue: bool | None,
    due_before: datetime | None,
    page: int,
    page_size: int,
) -> tuple[Sequence[Dossier], int]:
    conditions: list[ColumnElement[bool]] = [dossier_scope(principal)]
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
    """Unfinished dossiers overdue at ``now`` whose DossierOverdue is not published yet; rows another replica is
    handling are skipped, so each is published once."""
    stmt = (
        select(Dossier)
        .where(overdue_condition(now), Dossier.overdue_published_at.is_(None))
        .order_by(Dossier.due_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return (await session.execute(stmt)).scalars().all()
