"""Routes of the forms of Circular 01/2018 (the control sheet as data, forms 01–05 as HTML and PDF, the tracking
book as CSV and PDF) and of the counts per receiving agency that reporting's parity check compares with its own."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response

from libs.common.app import DBSession, RuntimeDep
from libs.common.audit import AuditAction
from libs.common.calendar import VN_TZ
from libs.common.contract import ProcedureSnapshot
from libs.common.errors import InvalidInput, field_error
from libs.common.validation import BoundedDate
from libs.common.web import html_to_pdf
from services.intake.catalogue_replica import service as replica
from services.intake.config import IntakeSettings
from services.intake.context import STAFF, Ctx, IntakeContext, allow
from services.intake.domain.codes import is_agency_code
from services.intake.domain.deadlines import local_window
from services.intake.dossiers import repository as dossiers
from services.intake.dossiers.audit import audit
from services.intake.dossiers.reads import ValidDossier
from services.intake.forms import render as forms
from services.intake.forms import repository
from services.intake.forms import schemas as s
from services.intake.models import Dossier

router = APIRouter(dependencies=[allow(*STAFF)])


@router.get("/dossiers/{code}/control-sheet", operation_id="control_sheet", tags=["forms"])
async def control_sheet(dossier: ValidDossier, session: DBSession) -> s.ControlSheet:
    """Process control sheet (form 05) as data: one row per recorded step with its time and result."""
    steps = await dossiers.steps(session, dossier.code)
    return s.ControlSheet(
        dossier_code=dossier.code,
        applicant_name=dossier.applicant_name,
        procedure_name=dossier.procedure_name,
        received_at=dossier.received_at,
        due_at=dossier.due_at,
        handling_agencies=forms.handling_agencies(dossier, steps),
        rows=[s.ControlSheetRow.model_validate(row) for row in forms.control_sheet_rows(dossier, steps)],
    )


PROBLEM: dict[str, Any] = {"application/problem+json": {}}
STAFF_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"content": PROBLEM, "description": "no or unknown credentials"},
    403: {"content": PROBLEM, "description": "not a staff role"},
}
FORM_ERRORS: dict[int | str, dict[str, Any]] = {
    **STAFF_ERRORS,
    404: {"content": PROBLEM, "description": "no such dossier, or a form the dossier does not have"},
}
PDF: dict[int | str, dict[str, Any]] = {200: {"content": {"application/pdf": {}}, "description": "the PDF"}}


async def _form_html(number: str, dossier: Dossier, session: DBSession, rt: RuntimeDep, copy: forms.Form01Copy) -> str:
    forms.check_form_number(number)
    steps = await dossiers.steps(session, dossier.code) if number in ("02", "03", "05") else []
    agencies = await replica.agencies(session, forms.agency_codes(dossier, steps))
    procedure: ProcedureSnapshot | None = None
    entry: int | None = None
    if number == "01":
        procedure = await replica.procedure_version(session, dossier.procedure_code, dossier.procedure_version)
        year = dossier.received_at.astimezone(VN_TZ).year
        year_start = local_window(date(year, 1, 1), date(year, 12, 31))[0]
        entry = await repository.book_entry(session, dossier, year_start)
    settings = rt.settings
    assert isinstance(settings, IntakeSettings)
    return forms.render(
        number, dossier, steps, agencies, procedure, entry, public_base_url=settings.public_base_url, copy=copy
    )


CopyQ = Annotated[
    forms.Form01Copy | None,
    Query(description="form 01 only: `1` the applicant's copy, `2` the desk's file copy, `both` one page each"),
]


@router.get(
    "/dossiers/{code}/forms/{number}.html",
    operation_id="render_form",
    tags=["forms"],
    response_class=HTMLResponse,
    responses=FORM_ERRORS,
)
async def render_form(
    number: str, dossier: ValidDossier, session: DBSession, rt: RuntimeDep, copy: CopyQ = None
) -> HTMLResponse:
    """Forms of Circular 01/2018 as printable HTML: 01 receipt and appointment (both copies unless `copy` names
    one, with a QR code that opens the citizen's page), 02 request to supplement, 03 refusal, 04 apology and new
    appointment, 05 process control sheet. 404 for a form the dossier does not have."""
    return HTMLResponse(await _form_html(number, dossier, session, rt, copy or forms.Form01Copy.BOTH))


@router.get(
    "/dossiers/{code}/forms/{number}.pdf",
    operation_id="render_form_pdf",
    tags=["forms"],
    response_class=Response,
    responses={**PDF, **FORM_ERRORS},
)
async def render_form_pdf(
    number: str, dossier: ValidDossier, session: DBSession, rt: RuntimeDep, copy: CopyQ = None
) -> Response:
    """The same forms as PDF, from the same HTML, on A5 (form 05 on A4 landscape). Form 01 is by default the
    applicant's copy on one A5 page (up to six components; a longer list continues on a next page under the
    table's header again); `copy=2` gives the desk's file copy, `copy=both` both copies, one page each. 404 for a
    form the dossier does not have."""
    pdf = await html_to_pdf(await _form_html(number, dossier, session, rt, copy or forms.Form01Copy.APPLICANT))
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="mau-{number}-{dossier.code}.pdf"'},
    )


@router.get("/tracking-book.csv", operation_id="tracking_book", tags=["forms"], response_class=Response)
async def tracking_book(
    ctx: Ctx,
    agency: Annotated[str, Query(description="receiving agency code")],
    year: Annotated[int, Query(ge=2000, le=2100)],
) -> Response:
    """Tracking book (form 06) of one receiving agency for one year, as CSV (UTF-8 with BOM); entry numbers run
    through the year in receipt order."""
    rows, _ = await _book(ctx, agency, year)
    return Response(
        forms.tracking_book_csv(rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="so-theo-doi-{agency}-{year}.csv"'},
    )


@router.get(
    "/tracking-book.pdf",
    operation_id="tracking_book_pdf",
    tags=["forms"],
    response_class=Response,
    responses={**PDF, **STAFF_ERRORS},
)
async def tracking_book_pdf(
    ctx: Ctx,
    agency: Annotated[str, Query(description="receiving agency code")],
    year: Annotated[int, Query(ge=2000, le=2100)],
) -> Response:
    """Tracking book (form 06) as PDF on A4 landscape: entries numbered through the year, the header row repeated
    on every page, pages numbered."""
    rows, name = await _book(ctx, agency, year)
    pdf = await html_to_pdf(forms.tracking_book_html(name, year, rows))
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="so-theo-doi-{agency}-{year}.pdf"'},
    )


async def _book(ctx: IntakeContext, agency: str, year: int) -> tuple[list[tuple[object, ...]], str]:
    """The caller's part of one agency's book for a year (scoped), audited as an export of personal data."""
    if not is_agency_code(agency):
        # checked before it reaches the file name in Content-Disposition (a control character there was a 500)
        raise InvalidInput(
            "Not an agency code", errors=[field_error(("agency",), "an agency code looks like 000.00.00.H56")]
        )
    start, end = local_window(date(year, 1, 1), date(year, 12, 31))
    book = await repository.tracking_book(ctx.session, ctx.principal, agency, start, end)
    await audit(ctx, AuditAction.EXPORT, book, {"export": "tracking_book"})
    codes = {agency} | {d.handling_agency_code for d in book}
    agencies = await replica.agencies(ctx.session, codes)
    latest = next((d.receiving_agency_name for d in reversed(book) if d.receiving_agency_name), None)
    return forms.tracking_book_rows(book, agencies), forms.agency_name(agency, latest, agencies)


@router.get("/stats/dossiers", operation_id="dossier_stats", tags=["stats"])
async def dossier_stats(
    ctx: Ctx,
    from_: Annotated[BoundedDate, Query(alias="from", description="first local day (Asia/Ho_Chi_Minh), inclusive")],
    to: Annotated[BoundedDate, Query(description="last local day, inclusive")],
) -> s.DossierStats:
    """Dossiers received and finished (result, refusal after acceptance, stop) per receiving agency in a window of
    local days: reporting's parity check. Shape documented in docs/intake.md."""
    if to < from_:
        raise InvalidInput("The window ends before it starts", errors=[field_error(("to",), "before 'from'")])
    start, end = local_window(from_, to)
    agencies = await repository.counts_by_receiving_agency(ctx.session, ctx.principal, start, end)
    return s.DossierStats(
        window=s.StatsWindow(from_=from_, to=to),
        agencies=[s.AgencyCount(**row) for row in agencies],
    )
