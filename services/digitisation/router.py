"""Digitisation's HTTP API: thin handlers that parse, call the service and shape the response."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response, status

from libs.common.app import DBSession, RuntimeDep
from libs.common.auth import Principal, Role, require
from libs.common.errors import InvalidInput, field_error
from services.digitisation import schemas as s
from services.digitisation import service
from services.digitisation.domain import warehouse
from services.digitisation.domain.codes import HolderKind, holder_kind_of, identity_code_problem
from services.digitisation.models import Document, Reuse

router = APIRouter()

DeskOrHandler = Annotated[Principal, Depends(require(Role.DESK_OFFICER, Role.HANDLER))]
Readers = Annotated[Principal, Depends(require(Role.DESK_OFFICER, Role.HANDLER, Role.PORTAL))]


def _ctx(session: DBSession, rt: RuntimeDep, principal: Principal) -> service.Context:
    return service.Context.of(session, rt.outbox, principal, rt.pseudonymizer, rt.clock)


def read_document(doc: Document, validity: warehouse.Validity) -> s.DocumentRead:
    return s.DocumentRead(
        id=doc.id,
        version=doc.version,
        holder_id_code=doc.holder_id_code,
        holder_kind=HolderKind(doc.holder_kind),
        type_code=doc.type_code,
        name=doc.name,
        source=warehouse.Source(doc.source),
        dossier_code=doc.dossier_code,
        component_code=doc.component_code,
        signed=doc.signed,
        valid_until=doc.valid_until,
        file_sha256=doc.file_sha256,
        created_at=doc.created_at,
        validity=validity,
    )


def read_reuse(reuse: Reuse) -> s.ReuseRead:
    return s.ReuseRead(
        dossier_code=reuse.dossier_code,
        component_code=reuse.component_code,
        document_id=reuse.document_id,
        document_version=reuse.document_version,
        reused_at=reuse.reused_at,
    )


@router.post(
    "/documents",
    status_code=status.HTTP_201_CREATED,
    operation_id="record_digitisation",
    tags=["documents"],
    responses={200: {"model": s.DocumentRead, "description": "the same file was already recorded"}},
)
async def record_digitisation(
    body: s.DocumentCreate, session: DBSession, rt: RuntimeDep, response: Response, principal: DeskOrHandler
) -> s.DocumentRead:
    """Record a digitisation (Circular 01/2023/TT-VPCP Art. 7: scan, officer's digital signature, data, result
    code, storage) as a new version of the document ``<holder id code>.<type code>``; publishes
    ``DocumentDigitised``.

    Only metadata and the file's SHA-256 are stored; the file itself stays in the deployment's document store.
    201 with the new version; 200 with the stored version when the same file was already recorded for the same
    dossier component (a retried request: no second event). 422 naming the field when the identity code, the type
    code or the dossier code is malformed, or an e-result / e-certified copy is not signed.
    """
    ctx = _ctx(session, rt, principal)
    recorded = await service.record_document(ctx, body)
    if not recorded.created:
        response.status_code = status.HTTP_200_OK
    return read_document(recorded.document, recorded.validity)


@router.get("/documents/{document_id}", operation_id="get_document", tags=["documents"])
async def get_document(
    document_id: Annotated[str, Path(description="<identity code>.<document type code>")],
    session: DBSession,
    rt: RuntimeDep,
    principal: Readers,
) -> s.DocumentHistory:
    """Every version of one digitised document, newest first, each with its validity today, and the version that
    re-use offers (the newest, when it is signed and not expired). 404 when nothing was recorded under that id."""
    ctx = _ctx(session, rt, principal)
    docs, offered = await service.document_history(ctx, document_id)
    newest = docs[0].version
    return s.DocumentHistory(
        id=document_id,
        offered_version=offered.version if offered else None,
        versions=[read_document(d, warehouse.validity(service.as_version(d), newest, ctx.today)) for d in docs],
    )


@router.get("/holders/{id_code}/documents", operation_id="list_holder_documents", tags=["holders"])
async def list_holder_documents(
    id_code: Annotated[str, Path(description="personal identification number or enterprise code")],
    session: DBSession,
    rt: RuntimeDep,
    principal: Readers,
) -> s.HolderDocuments:
    """What the state already holds for a citizen or an organisation (the data warehouse view): for each document
    type, the version re-use offers today. Superseded, unsigned and expired versions are left out; an empty list
    means nothing can be re-used. 422 naming ``id_code`` when it is not an identity code."""
    problem = identity_code_problem(id_code)
    kind = holder_kind_of(id_code)
    if problem is not None or kind is None:
        raise InvalidInput(
            f"Not an identity code: {id_code!r}", errors=[field_error(("id_code",), problem or "not an identity code")]
        )
    ctx = _ctx(session, rt, principal)
    docs = await service.holder_documents(ctx, id_code)
    return s.HolderDocuments(
        holder_id_code=id_code,
        holder_kind=kind,
        on=ctx.today,
        documents=[read_document(d, warehouse.Validity.VALID) for d in docs],
    )


@router.post(
    "/dossiers/{dossier_code}/reuse",
    status_code=status.HTTP_201_CREATED,
    operation_id="record_reuse",
    tags=["re-use"],
    responses={200: {"model": s.ReuseRead, "description": "already recorded with the same document"}},
)
async def record_reuse(
    dossier_code: str,
    body: s.ReuseCreate,
    session: DBSession,
    rt: RuntimeDep,
    response: Response,
    principal: DeskOrHandler,
) -> s.ReuseRead:
    """Record that a component of a dossier was taken from the data warehouse instead of being submitted again
    (once-only, Decree 47/2020 Art. 9(3); ``DuocLayTuKhoDMQG`` on the national portal); publishes
    ``DocumentReused``.

    The document must exist (404 ``document_not_found``) and be offered today (409 ``document_not_offered`` with
    its ``validity``: superseded, unsigned or expired). Idempotent per (dossier, component): the same document again
    answers 200 with the stored record and no second event; another document for that component is 409
    ``reuse_conflict``.
    """
    ctx = _ctx(session, rt, principal)
    reuse, created = await service.record_reuse(ctx, dossier_code, body)
    if not created:
        response.status_code = status.HTTP_200_OK
    return read_reuse(reuse)


@router.get("/dossiers/{dossier_code}/reuse", operation_id="list_dossier_reuse", tags=["re-use"])
async def list_dossier_reuse(
    dossier_code: str, session: DBSession, rt: RuntimeDep, principal: Readers
) -> list[s.ReuseRead]:
    """The components of a dossier recorded as taken from the warehouse, by component code."""
    ctx = _ctx(session, rt, principal)
    return [read_reuse(r) for r in await service.dossier_reuses(ctx, dossier_code)]
