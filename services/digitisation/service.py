"""Digitisation use cases. They flush and append outbox events; the request boundary commits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from libs.common import dossier_agencies
from libs.common.audit import AuditAction, record_principal
from libs.common.auth import Principal
from libs.common.calendar import VN_TZ
from libs.common.clock import Clock
from libs.common.contract import DocumentDigitised, DocumentReused
from libs.common.errors import Forbidden, field_error
from libs.common.messaging.outbox import Outbox
from libs.common.privacy import Pseudonymizer
from services.digitisation import repository
from services.digitisation import schemas as s
from services.digitisation.domain import timing, warehouse
from services.digitisation.domain.codes import document_id, is_dossier_code, split_document_id
from services.digitisation.errors import (
    ConcurrentDigitisation,
    DocumentNotFound,
    DocumentNotOffered,
    DocumentRejected,
    DossierNotFound,
    ReuseConflict,
)
from services.digitisation.models import Document, Reuse


@dataclass(frozen=True)
class Context:
    """What every use case needs: the request's session, the outbox, who acts and when it is now."""

    session: AsyncSession
    outbox: Outbox
    principal: Principal
    now: datetime
    pseudonymizer: Pseudonymizer

    @classmethod
    def of(
        cls, session: AsyncSession, outbox: Outbox, principal: Principal, pseudonymizer: Pseudonymizer, clock: Clock
    ) -> Context:
        return cls(session, outbox, principal, clock.now(), pseudonymizer)

    @property
    def actor(self) -> str:
        return self.principal.subject

    def holder_pseudonym(self, holder_id_code: str) -> str:
        """What events and the audit log name a holder by: the deployment's keyed pseudonym, never the identity
        number (Decree 13/2023); digitisation alone keeps the number, in its own tables."""
        return self.pseudonymizer.pseudonym(holder_id_code)

    async def audit(self, action: AuditAction, kind: str, subject_ids: Sequence[str], **detail: Any) -> None:
        await record_principal(
            self.session,
            self.principal,
            at=self.now,
            action=action,
            subject_kind=kind,
            subject_ids=subject_ids,
            personal_data=True,
            detail=detail or None,
            actor=None
            if self.principal.roles & repository.STAFF_ROLES
            else f"holder:{self.holder_pseudonym(self.actor)}",
        )

    async def audit_documents(self, action: AuditAction, docs: Sequence[Document]) -> None:
        # a document id begins with the holder's identity number: the audit row names it by pseudonym and type
        ids = sorted({f"{self.holder_pseudonym(d.holder_id_code)}.{d.type_code}" for d in docs})
        await self.audit(action, "document", ids)

    async def check_dossier_in_scope(self, dossier_code: str | None) -> None:
        """A write naming a dossier outside the caller's scope is 404, as if the dossier did not exist."""
        if dossier_code is None:
            return
        if not await dossier_agencies.covers_dossier(self.session, self.principal.scope, dossier_code):
            raise DossierNotFound(f"No dossier {dossier_code}")

    @property
    def today(self) -> date:
        """The local date validity is judged on (valid_until is a date in Asia/Ho_Chi_Minh)."""
        return self.now.astimezone(VN_TZ).date()


def as_version(doc: Document) -> warehouse.Version:
    return warehouse.Version(
        document_id=doc.id,
        version=doc.version,
        type_code=doc.type_code,
        signed=doc.signed,
        valid_until=doc.valid_until,
        file_sha256=doc.file_sha256,
        dossier_code=doc.dossier_code,
        component_code=doc.component_code,
    )


def check_dossier_code(dossier_code: str) -> None:
    if not is_dossier_code(dossier_code):
        raise DocumentRejected(
            f"Not a dossier code: {dossier_code!r}",
            errors=[field_error(("dossier_code",), "a dossier code looks like 000.00.00.H56-260302-0001")],
        )


# ---------------------------------------------------------------- digitisation


@dataclass(frozen=True)
class Recorded:
    document: Document
    created: bool  # False: a retried request answered with the version already stored
    validity: warehouse.Validity


async def record_document(ctx: Context, data: s.DocumentCreate) -> Recorded:
    """Record one digitisation as a new version of ``<identity code>.<type code>``; publish ``DocumentDigitised``.

    The same file sent again for the same dossier component is a retried request: it gets the version already
    stored, with no second event.
    """
    problems = warehouse.digitisation_problems(
        holder_id_code=data.holder_id_code,
        holder_kind=data.holder_kind,
        type_code=data.type_code,
        source=data.source,
        signed=data.signed,
        dossier_code=data.dossier_code,
        component_code=data.component_code,
    )
    if problems:
        fields = ", ".join(dict.fromkeys(field for field, _ in problems))
        raise DocumentRejected(
            f"The digitisation cannot be recorded: {fields}",
            errors=[field_error((field,), message) for field, message in problems],
        )
    await ctx.check_dossier_in_scope(data.dossier_code)
    doc_id = document_id(data.holder_id_code, data.type_code)
    existing = await repository.versions(ctx.session, None, doc_id)
    for doc in existing:
        if warehouse.is_repeat(as_version(doc), data.file_sha256, data.dossier_code, data.component_code):
            return Recorded(doc, False, warehouse.validity(as_version(doc), existing[0].version, ctx.today))
    at = data.at.astimezone(UTC) if data.at is not None else ctx.now
    _check_at(timing.digitisation_problem(at, ctx.now, existing[0].created_at if existing else None), at)
    if data.dossier_code is not None:
        received = await dossier_agencies.received_at(ctx.session, data.dossier_code)
        _check_at(timing.before_receipt_problem(at, received), at)
    doc = Document(
        id=doc_id,
        version=warehouse.next_version(d.version for d in existing),
        holder_id_code=data.holder_id_code,
        holder_kind=data.holder_kind.value,
        type_code=data.type_code,
        name=data.name,
        source=data.source.value,
        dossier_code=data.dossier_code,
        component_code=data.component_code,
        signed=data.signed,
        valid_until=data.valid_until,
        file_sha256=data.file_sha256,
        created_at=at,  # when it was digitised (docs/digitisation.md §Time)
        created_by=ctx.actor,
    )
    try:
        # The primary key (id, version) refuses a second writer that computed the same version number.
        async with ctx.session.begin_nested():
            ctx.session.add(doc)
            await ctx.session.flush()
    except IntegrityError:
        raise ConcurrentDigitisation(
            f"Another version of {doc_id} was recorded at the same time; send the request again"
        ) from None
    await ctx.outbox.append(
        ctx.session,
        DocumentDigitised(
            holder_pseudonym=ctx.holder_pseudonym(doc.holder_id_code),
            document_version=doc.version,
            type_code=doc.type_code,
            dossier_code=doc.dossier_code,
            component_code=doc.component_code,
            signed=doc.signed,
            at=at,
        ),
    )
    await ctx.audit_documents(AuditAction.CREATE, [doc])
    return Recorded(doc, True, warehouse.validity(as_version(doc), doc.version, ctx.today))


async def document_history(ctx: Context, doc_id: str) -> tuple[Sequence[Document], warehouse.Version | None]:
    """Every version of a document (newest first) and the one re-use offers today."""
    docs = await repository.versions(ctx.session, ctx.principal, doc_id)
    if not docs:
        raise DocumentNotFound(f"No digitised document {doc_id}")
    await ctx.audit_documents(AuditAction.READ, docs[:1])
    return docs, warehouse.offered([as_version(d) for d in docs], ctx.today)


async def holder_documents(ctx: Context, holder_id_code: str) -> list[Document]:
    """The warehouse view of one holder: per document, the version re-use offers today. The holder's own request
    (a principal whose subject is that identity code), or an officer with an agency scope: the warehouse is shared
    by every agency for once-only re-use, so an officer sees all of a holder's documents, and the read is audited."""
    officer = bool(ctx.principal.roles & repository.STAFF_ROLES) and bool(
        ctx.principal.scope.province_wide or ctx.principal.scope.agencies
    )
    if not officer and ctx.principal.subject != holder_id_code:
        raise Forbidden("Only the holder themselves, or an officer of an agency, may read a holder's documents")
    docs = await repository.holder_documents(ctx.session, holder_id_code)
    await ctx.audit(AuditAction.READ, "holder", [ctx.holder_pseudonym(holder_id_code)])
    by_key = {(d.id, d.version): d for d in docs}
    return [by_key[v.document_id, v.version] for v in warehouse.holdings(map(as_version, docs), ctx.today)]


# ---------------------------------------------------------------- re-use


async def record_reuse(ctx: Context, dossier_code: str, data: s.ReuseCreate) -> tuple[Reuse, bool]:
    """Record that a dossier component was taken from the warehouse; publish ``DocumentReused``.

    Idempotent per (dossier, component): the same document again returns the stored record with no second event;
    another document for a component already recorded is a conflict.
    """
    check_dossier_code(dossier_code)
    await ctx.check_dossier_in_scope(dossier_code)
    if split_document_id(data.document_id) is None:
        raise DocumentRejected(
            f"Not a document id: {data.document_id!r}",
            errors=[field_error(("document_id",), "a document id is <identity code>.<document type code>")],
        )
    recorded = await repository.get_reuse(ctx.session, dossier_code, data.component_code)
    if recorded is not None:
        return _same_reuse(recorded, data), False
    # the warehouse offers any agency's documents for re-use: the document is looked up unscoped
    docs = await repository.versions(ctx.session, None, data.document_id)
    if not docs:
        raise DocumentNotFound(f"No digitised document {data.document_id}")
    at = data.at.astimezone(UTC) if data.at is not None else ctx.now
    _check_at(timing.reuse_problem(at, ctx.now, min(d.created_at for d in docs)), at)
    _check_at(timing.before_receipt_problem(at, await dossier_agencies.received_at(ctx.session, dossier_code)), at)
    # What the warehouse offered then: the versions digitised by that time, judged on that day.
    on = at.astimezone(VN_TZ).date()
    versions = [as_version(d) for d in docs if d.created_at <= at]
    chosen = warehouse.offered(versions, on)
    if chosen is None:
        newest = versions[0]
        reason = warehouse.validity(newest, newest.version, on)
        raise DocumentNotOffered(
            f"The warehouse does not offer {data.document_id}: its newest version ({newest.version}) is {reason.value}",
            validity=reason.value,
        )
    reuse = Reuse(
        dossier_code=dossier_code,
        component_code=data.component_code,
        document_id=data.document_id,
        document_version=chosen.version,
        reused_at=at,
        recorded_by=ctx.actor,
    )
    try:
        async with ctx.session.begin_nested():
            ctx.session.add(reuse)
            await ctx.session.flush()
    except IntegrityError:
        # A concurrent request recorded the same component first: answer as a repeat of it.
        recorded = await repository.get_reuse(ctx.session, dossier_code, data.component_code)
        if recorded is None:
            raise
        return _same_reuse(recorded, data), False
    await ctx.outbox.append(
        ctx.session,
        DocumentReused(
            holder_pseudonym=ctx.holder_pseudonym(docs[0].holder_id_code),
            type_code=docs[0].type_code,
            dossier_code=dossier_code,
            component_code=reuse.component_code,
            at=at,
        ),
    )
    return reuse, True


def _check_at(problem: str | None, at: datetime) -> None:
    if problem is not None:
        raise DocumentRejected(
            f"Cannot be recorded at {at.isoformat()}: {problem}", errors=[field_error(("at",), problem)]
        )


def _same_reuse(recorded: Reuse, data: s.ReuseCreate) -> Reuse:
    if recorded.document_id != data.document_id:
        raise ReuseConflict(
            f"Component {recorded.component_code} of dossier {recorded.dossier_code} was already taken from "
            f"{recorded.document_id}",
            document_id=recorded.document_id,
        )
    return recorded


async def dossier_reuses(ctx: Context, dossier_code: str) -> Sequence[Reuse]:
    check_dossier_code(dossier_code)
    return await repository.dossier_reuses(ctx.session, ctx.principal, dossier_code)
