"""The catalogue's HTTP API: reads are public, changes need the ``ops`` role."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, status

from libs.common.app import DBSession, RuntimeDep
from libs.common.auth import Principal, Role, require
from libs.common.contract import AGENCY_CODE, OnlineLevel
from libs.common.errors import InvalidInput, field_error
from libs.common.limits import BODY_LIMITED_RESPONSES, MiB
from libs.common.validation import PageNumber, PageSize
from services.catalogue import repository, service
from services.catalogue import schemas as s
from services.catalogue.config import CatalogueSettings
from services.catalogue.domain.levels import Level
from services.catalogue.errors import AgencyNotFound, ProcedureNotFound
from services.catalogue.imports import DecisionDefaults, read_catalogue

router = APIRouter()

Ops = Annotated[Principal, Depends(require(Role.OPS))]
Code = Annotated[str, Path(description="national procedure code, e.g. 1.001193")]
At = Annotated[date | None, Query(description="a day (Asia/Ho_Chi_Minh); default today")]


class SearchStatus(StrEnum):
    IN_FORCE = "in_force"
    WITHDRAWN = "withdrawn"
    ALL = "all"


# ---------------------------------------------------------------- procedures


@router.post(
    "/procedures",
    status_code=status.HTTP_201_CREATED,
    operation_id="publish_procedure",
    tags=["procedures"],
    responses={
        409: {"content": {"application/problem+json": {}}, "description": "the code is already in the catalogue"}
    },
)
async def publish_procedure(
    body: s.ProcedureCreate, session: DBSession, rt: RuntimeDep, principal: Ops
) -> s.ProcedureRead:
    """Publish a new procedure by a decision: version 1, in force from the decision's effective date.
    Publishes ``ProcedurePublished`` with the whole procedure. 409 if the code is already in the catalogue;
    422 ``procedure_invalid`` naming the field when a rule is broken (e.g. the process step whose allowance takes
    the process past the legal time limit)."""
    ctx = service.Context.of(session, rt.outbox, rt.clock, principal)
    row = await service.publish(ctx, body)
    procedure = await repository.get_procedure(session, row.code)
    assert procedure is not None
    return service.read(procedure, row)


@router.post(
    "/procedures/{code}/amendments",
    status_code=status.HTTP_201_CREATED,
    operation_id="amend_procedure",
    tags=["procedures"],
)
async def amend_procedure(
    code: Code, body: s.ProcedureAmendment, session: DBSession, rt: RuntimeDep, principal: Ops
) -> s.ProcedureRead:
    """Amend a procedure by a decision: the whole new content becomes the next version, in force from the
    decision's effective date (which must follow the latest version's); the previous version ends the day before.
    Publishes ``ProcedureAmended``. 409 once withdrawn."""
    ctx = service.Context.of(session, rt.outbox, rt.clock, principal)
    row = await service.amend(ctx, code, body)
    procedure = await repository.get_procedure(session, code)
    assert procedure is not None
    return service.read(procedure, row)


@router.post("/procedures/{code}/withdrawal", operation_id="withdraw_procedure", tags=["procedures"])
async def withdraw_procedure(
    code: Code, body: s.WithdrawalIn, session: DBSession, rt: RuntimeDep, principal: Ops
) -> s.WithdrawalRead:
    """Withdraw a procedure by a decision effective on W: its last version is in force until W − 1, and reads at
    W or later answer 410 Gone. Publishes ``ProcedureWithdrawn``. 409 if already withdrawn."""
    return await service.withdraw(service.Context.of(session, rt.outbox, rt.clock, principal), code, body)


@router.get("/procedures", operation_id="search_procedures", tags=["procedures"])
async def search_procedures(
    session: DBSession,
    rt: RuntimeDep,
    q: Annotated[str | None, Query(description="words of the name, with or without diacritics, or a code")] = None,
    code: Annotated[str | None, Query(description="code or its beginning")] = None,
    sector: Annotated[str | None, Query(description="sector code, or words of its name")] = None,
    level: Level | None = None,
    agency: Annotated[str | None, Query(description="code of an agency that handles it")] = None,
    online_level: OnlineLevel | None = None,
    has_fees: bool | None = None,
    fees_payable_online: bool | None = None,
    postal_allowed: bool | None = None,
    cross_boundary_allowed: bool | None = None,
    inter_agency: bool | None = None,
    certification: bool | None = None,
    public: bool | None = None,
    status_: Annotated[
        SearchStatus,
        Query(alias="status", description="in_force on `at` (default), withdrawn by `at`, or all (latest versions)"),
    ] = SearchStatus.IN_FORCE,
    at: At = None,
    page: PageNumber = 1,
    page_size: PageSize = 20,
) -> s.ProcedurePage:
    """Search the catalogue: by name (diacritic-insensitive: "dang ky khai sinh" finds "Đăng ký khai sinh"), code,
    sector, level, agency, online level and flags; ordered by code, paginated."""
    filters = repository.ProcedureFilter(
        on=at or service.today(rt.clock),
        status=status_.value,
        q=q,
        code=code,
        sector=sector,
        level=level.value if level else None,
        agency=agency,
        online_level=online_level.value if online_level else None,
        has_fees=has_fees,
        fees_payable_online=fees_payable_online,
        postal_allowed=postal_allowed,
        cross_boundary_allowed=cross_boundary_allowed,
        inter_agency=inter_agency,
        certification=certification,
        public=public,
    )
    rows, total = await repository.search_procedures(session, filters, page, page_size)
    return s.ProcedurePage(items=[service.summary(r) for r in rows], total=total, page=page, page_size=page_size)


@router.get("/procedures/{code}", operation_id="get_procedure", tags=["procedures"])
async def get_procedure(code: Code, session: DBSession, rt: RuntimeDep, at: At = None) -> s.ProcedureRead:
    """The version in force on ``at`` (default today): what intake applies to a dossier received that day.
    404 ``procedure_not_in_force`` before its first version took effect; 410 ``procedure_withdrawn`` on or after
    the effective date of its withdrawal (earlier dates still answer)."""
    return await service.procedure_at(session, code, at or service.today(rt.clock))


@router.get("/procedures/{code}/versions", operation_id="list_procedure_versions", tags=["procedures"])
async def list_procedure_versions(code: Code, session: DBSession) -> list[s.VersionRead]:
    """Every version with the decision behind it and the days it was in force."""
    return await service.procedure_versions(session, code)


@router.get("/procedures/{code}/versions/{version}", operation_id="get_procedure_version", tags=["procedures"])
async def get_procedure_version(
    code: Code, version: Annotated[int, Path(ge=1, le=2_147_483_647)], session: DBSession
) -> s.ProcedureRead:
    """One version as it was published, whatever the day."""
    procedure = await repository.get_procedure(session, code)
    row = await repository.version(session, code, version)
    if procedure is None or row is None:
        raise ProcedureNotFound(f"Procedure {code} has no version {version}")
    return service.read(procedure, row)


# ---------------------------------------------------------------- import


# The framework refuses a body over this cap before reading it; MOTCUA_CATALOGUE_IMPORT_MAX_BYTES (at most this,
# less the multipart overhead) is checked on the file itself below.
IMPORT_BODY_CAP = 64 * MiB


@router.post(
    "/imports/procedures",
    operation_id="import_procedures",
    tags=["imports"],
    max_body_size=IMPORT_BODY_CAP,
    responses=BODY_LIMITED_RESPONSES,
)
async def import_procedures(
    request: Request,
    session: DBSession,
    rt: RuntimeDep,
    principal: Ops,
    decision_number: Annotated[str | None, Query(description="the publishing decision of rows without one")] = None,
    decision_signed_on: date | None = None,
    decision_effective_on: date | None = None,
) -> s.ImportReport:
    """Import a catalogue file: a multipart upload in ``file`` (or the raw body) holding an Excel workbook (.xlsx,
    first sheet, header row; columns in docs/catalogue.md) or JSON (our layout or the national portal's, as in
    procedures-sample.json). New codes are published, known ones amended (unchanged rows are left alone). Each row
    is applied on its own: the report lists rows accepted and rows rejected with their reasons."""
    settings: CatalogueSettings = rt.settings  # type: ignore[assignment]
    filename: str | None = None
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        form = await request.form()
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise InvalidInput("Send the file in the 'file' field", errors=[field_error(("file",), "missing")])
        filename = upload.filename
        raw = await upload.read()
    else:
        raw = await request.body()
    if len(raw) > settings.import_max_bytes:
        raise InvalidInput(
            f"The file is larger than {settings.import_max_bytes} bytes",
            errors=[field_error(("file",), "too large")],
        )
    defaults = DecisionDefaults(decision_number, decision_signed_on, decision_effective_on)
    rows = read_catalogue(filename, raw, defaults)
    return await service.import_procedures(service.Context.of(session, rt.outbox, rt.clock, principal), rows)


# ---------------------------------------------------------------- agencies


@router.put("/agencies/{code}", operation_id="put_agency", tags=["agencies"])
async def put_agency(
    code: Annotated[str, Path(description="agency code V1V2V3.Z1Z2.Y1Y2.MX1X2")],
    body: s.AgencyIn,
    session: DBSession,
    rt: RuntimeDep,
    principal: Ops,
) -> s.AgencyRead:
    """Create or replace an agency of the province: level, parent, one-stop desks, and the procedures it handles
    (each must be in the catalogue). Publishes ``AgencyPublished``. 422 for a malformed agency code."""
    if AGENCY_CODE.fullmatch(code) is None:
        raise InvalidInput(
            f"{code} is not an agency code V1V2V3.Z1Z2.Y1Y2.MX1X2 (e.g. 000.17.22.H56)",
            errors=[field_error(("code",), "not an agency code V1V2V3.Z1Z2.Y1Y2.MX1X2")],
        )
    agency = await service.put_agency(service.Context.of(session, rt.outbox, rt.clock, principal), code, body)
    return s.AgencyRead.model_validate(agency)


@router.get("/agencies", operation_id="search_agencies", tags=["agencies"])
async def search_agencies(
    session: DBSession,
    q: Annotated[str | None, Query(description="words of the name (diacritic-insensitive) or a code")] = None,
    level: Level | None = None,
    parent_code: str | None = None,
    procedure: Annotated[str | None, Query(description="code of a procedure the agency handles")] = None,
    page: PageNumber = 1,
    page_size: PageSize = 50,
) -> s.AgencyPage:
    """The province's agencies, ordered by code."""
    rows, total = await repository.search_agencies(
        session,
        q=q,
        level=level.value if level else None,
        parent_code=parent_code,
        procedure=procedure,
        page=page,
        page_size=page_size,
    )
    return s.AgencyPage(
        items=[s.AgencyRead.model_validate(r) for r in rows], total=total, page=page, page_size=page_size
    )


@router.get("/agencies/{code}", operation_id="get_agency", tags=["agencies"])
async def get_agency(code: str, session: DBSession) -> s.AgencyRead:
    agency = await repository.get_agency(session, code)
    if agency is None:
        raise AgencyNotFound(f"No agency {code} in the catalogue")
    return s.AgencyRead.model_validate(agency)


# ---------------------------------------------------------------- indicators


@router.get("/indicators", operation_id="catalogue_indicators", tags=["indicators"])
async def catalogue_indicators(session: DBSession, rt: RuntimeDep, on: At = None) -> s.IndicatorsRead:
    """``online_service_coverage`` (published procedures offered fully or partly online / published procedures)
    and ``published_rate`` (procedures in force that are public / procedures in force) on a day. Reporting computes
    the same from the procedure events."""
    return await service.catalogue_indicators(session, on or service.today(rt.clock))
