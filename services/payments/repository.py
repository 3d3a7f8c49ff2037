"""Every query of payments."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Select, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from libs.common import dossier_agencies
from libs.common.auth import AgencyScope
from services.payments.models import FeeAssessment, Payment, Refund


async def current_assessment(session: AsyncSession, dossier_code: str, *, lock: bool = False) -> FeeAssessment | None:
    """The assessment in force: the newest one not superseded (two first assessments racing both stay unsuperseded
    until the next one; the newest wins, as in reporting's fold)."""
    stmt = (
        select(FeeAssessment)
        .where(FeeAssessment.dossier_code == dossier_code, FeeAssessment.superseded_at.is_(None))
        .order_by(FeeAssessment.assessed_at.desc(), FeeAssessment.id.desc())
        .limit(1)
    )
    if lock:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def supersede_assessments(session: AsyncSession, dossier_code: str, at: datetime) -> None:
    stmt = (
        update(FeeAssessment)
        .where(FeeAssessment.dossier_code == dossier_code, FeeAssessment.superseded_at.is_(None))
        .values(superseded_at=at)
    )
    await session.execute(stmt)


def readable_payments(scope: AgencyScope) -> Select[Payment]:
    """Payments of dossiers received, handled or held by the scope's agencies (payments knows a dossier by its code:
    the replica ``dossier_agency`` says which agencies it belongs to, docs/security.md, "Scoping"). A payment outside
    the scope is 404 like a missing one."""
    return select(Payment).where(dossier_agencies.dossier_condition(scope, Payment.dossier_code))


async def get_payment(session: AsyncSession, scope: AgencyScope, payment_id: str) -> Payment | None:
    return (await session.execute(readable_payments(scope).where(Payment.id == payment_id))).scalar_one_or_none()


async def lock_payment(session: AsyncSession, scope: AgencyScope, payment_id: str) -> Payment | None:
    """The payment, locked for the rest of the transaction on PostgreSQL: a callback, a confirmation and a refund
    of one payment serialise."""
    stmt = readable_payments(scope).where(Payment.id == payment_id).with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def payment_by_key(session: AsyncSession, key: str) -> Payment | None:
    return (await session.execute(select(Payment).where(Payment.idempotency_key == key))).scalar_one_or_none()


async def dossier_payments(session: AsyncSession, dossier_code: str) -> Sequence[Payment]:
    stmt = select(Payment).where(Payment.dossier_code == dossier_code).order_by(Payment.created_at, Payment.id)
    return (await session.execute(stmt)).scalars().all()


async def refund_by_key(session: AsyncSession, payment_id: str, key: str) -> Refund | None:
    stmt = select(Refund).where(Refund.payment_id == payment_id, Refund.idempotency_key == key)
    return (await session.execute(stmt)).scalar_one_or_none()


async def provider_payments(
    session: AsyncSession, provider: str, ids: set[str], start: datetime | None, end: datetime | None
) -> tuple[Sequence[Payment], set[str]]:
    """The provider's payments named on a statement, plus the ids of those that took money within the period.

    Statement ids are looked up in chunks (a statement can be long; drivers cap bound parameters).
    """
    named: list[Payment] = []
    wanted = sorted(ids)
    for i in range(0, len(wanted), 1000):
        chunk = wanted[i : i + 1000]
        named.extend((await session.execute(select(Payment).where(Payment.id.in_(chunk)))).scalars().all())
    stmt = select(Payment).where(Payment.provider == provider, Payment.succeeded_at.is_not(None))
    if start is not None:
        stmt = stmt.where(Payment.succeeded_at >= start)
    if end is not None:
        stmt = stmt.where(Payment.succeeded_at < end)
    in_period = (await session.execute(stmt)).scalars().all()
    by_id = {p.id: p for p in named} | {p.id: p for p in in_period}
    return list(by_id.values()), {p.id for p in in_period}
