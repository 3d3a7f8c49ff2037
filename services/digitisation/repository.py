"""Every query of digitisation."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.digitisation.models import Document, Reuse


async def versions(session: AsyncSession, document_id: str) -> Sequence[Document]:
    """Every version of one document, newest first."""
    stmt = select(Document).where(Document.id == document_id).order_by(Document.version.desc())
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


async def dossier_reuses(session: AsyncSession, dossier_code: str) -> Sequence[Reuse]:
    stmt = select(Reuse).where(Reuse.dossier_code == dossier_code).order_by(Reuse.component_code)
    return (await session.execute(stmt)).scalars().all()
