"""Every query of digitisation."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, Select, false, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from libs.common import dossier_agencies
from libs.common.auth import Principal, Role
from services.digitisation.models import Document, Reuse

STAFF_ROLES = frozenset({Role.DESK_OFFICER, Role.HANDLER, Role.LEADER, Role.OPS})


def document_scope(principal: Principal) -> ColumnElement[bool]:
    """Staff: documents attached to a dossier received, handled or held by one of their agencies (digitisation knows
    a dossier by its code: the replica ``dossier_agency`` says which agencies it belongs to), and documents attached
    to none (the warehouse's own, offered to every agency for re-use); a portal client acting for a citizen: that
    citizen's documents only, when the principal's subject is the holder's identity code (the holder's own
    authenticated request)."""
    conditions: list[ColumnElement[bool]] = []
    if principal.roles & STAFF_ROLES and (principal.scope.province_wide or principal.scope.agencies):
        in_scope = dossier_agencies.dossier_condition(principal.scope, Document.dossier_code)
        conditions.append(or_(Document.dossier_code.is_(None), in_scope))
    conditions.append(Document.holder_id_code == principal.subject)
    return or_(*conditions)


def readable_documents(principal: Principal) -> Select[Document]:
    return select(Document).where(document_scope(principal))


async def versions(session: AsyncSession, principal: Principal | None, document_id: str) -> Sequence[Document]:
    """Every version of one document the caller may read, newest first (``None``: unscoped, for re-use checks)."""
    base = select(Document) if principal is None else readable_documents(principal)
    stmt = base.where(Document.id == document_id).order_by(Document.version.desc())
    return (await session.execute(stmt)).scalars().all()


async def holder_documents(session: AsyncSession, holder_id_code: str) -> Sequence[Document]:
    stmt = (
        select(Document)
        .where(Document.holder_id_code == holder_id_code)
        .order_by(Document.type_code, Document.version.desc())
    )
    return (await session.execute(stmt)).scalars().all()


async def get_reuse(session: AsyncSession, dossier_code: str, component_code: str) -> Reuse | None:
    return await session.get(Reuse, (dossier_code, component_code))


async def dossier_reuses(session: AsyncSession, principal: Principal, dossier_code: str) -> Sequence[Reuse]:
    """Staff: a dossier of their agencies; the holder: re-uses of their own documents."""
    mine = Reuse.document_id.in_(select(Document.id).where(Document.holder_id_code == principal.subject))
    in_scope = (
        dossier_agencies.dossier_condition(principal.scope, Reuse.dossier_code)
        if principal.roles & STAFF_ROLES
        else false()
    )
    stmt = select(Reuse).where(Reuse.dossier_code == dossier_code, or_(in_scope, mine)).order_by(Reuse.component_code)
    return (await session.execute(stmt)).scalars().all()
