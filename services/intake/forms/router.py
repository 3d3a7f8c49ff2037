"""Routes of the forms of Circular 01/2018 (the control sheet as data, forms 01–05 as HTML, the tracking book as
CSV) and of the counts per receiving agency that reporting's parity check compares with its own."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response

from libs.common.app import DBSession
from libs.common.audit import AuditAction
from libs.common.calendar import VN_TZ
from libs.common.contract import ProcedureSnapshot
from libs.common.errors import InvalidInput, field_error
from services.intake.catalogue_replica import service as replica
from services.intake.context import STAFF, Ctx, allow
from services.intake.domain.codes import is_agency_code
from services.intake.domain.deadlines import local_window
from services.intake.dossiers import repository as dossiers
from services.intake.dossiers.audit import audit
from services.intake.dossiers.reads import ValidDossier
from services.intake.forms import render as forms
from services.intake.forms import repository
from services.intake.forms import schemas as s

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


@router.get(
    "/dossiers/{code}/forms/{number}.html",
    operation_id="render_form",
    tags=["forms"],
    response_class=HTMLResponse,
)
async def render_form(number: str, dossier: ValidDossier, session: DBSession) -> HTMLResponse:
    """Forms of Circular 01/2018 as printable HTML: 01 receipt and appointment, 02 request to supplement,
    03 refusal, 04 apology and new appointment, 05 process control sheet. 404 for a form the dossier does not have."""
    forms.check_form_number(number)
    steps = await dossiers.steps(session, dossier.code) if number in ("02", "05") else []
    agency = (await replica.agencies(session, {dossier.receiving_agency_code})).get(dossier.receiving_agency_code)
    procedure: ProcedureSnapshot | None = None
    entry: int | None = None
    if number == "01":
        procedure = await replica.procedure_version(session, dossier.procedure_code, dossier.procedure_version)
        year = dossier.received_at.astimezone(VN_TZ).year
        year_start = local_window(date(year, 1, 1), date(year, 12, 31))[0]
        entry = await repository.book_entry(session, dossier, year_start)
    return HTMLResponse(forms.render(number, dossier, steps, agency, procedure, entry))


@router.get("/tracking-book.csv", operation_id="tracking_book", tags=["forms"], response_class=Response)
async def tracking_book(
    ctx: Ctx,
    agency: Annotated[str, Query(description="receiving agency code")],
    year: Annotated[int, Query(ge=2000, le=2100)],
) -> Response:
    """Tracking book (form 06) of one receiving agency for one year, as CSV (UTF-8 with BOM); entry numbers run
    through the year in receipt order."""
    if not is_agency_code(agency):
        # checked before it reaches the file name in Content-Disposition (a control character there was a 500)
        raise InvalidInput(
            "Not an agency code", errors=[field_error(("agency",), "an agency code looks like 000.00.00.H56")]
        )
    start, end = local_window(date(year, 1, 1), date(year, 12, 31))
    rows = await repository.tracking_book(ctx.session, ctx.principal, agency, start, end)
    await audit(ctx, AuditAction.EXPORT, rows, {"export": "tracking_book"})
    return Response(
        forms.tracking_book_csv(rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="so-theo-doi-{agency}-{year}.csv"'},
    )


@router.get("/stats/dossiers", operation_id="dossier_stats", tags=["stats"])
async def dossier_stats(
    ctx: Ctx,
    from_: Annotated[date, Query(alias="from", description="first local day (Asia/Ho_Chi_Minh), inclusive")],
    to: Annotated[date, Query(description="last local day, inclusive")],
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
