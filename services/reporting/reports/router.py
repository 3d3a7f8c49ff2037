"""HTTP API of the reports: indicators and their drill-down, the plan-compliance report, the official results form,
the Decision 766 index, the parity check, report periods and a dossier's fact. Thin: parse, call, shape."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from libs.common.app import DBSession
from libs.common.audit import AuditAction
from libs.common.auth import Principal, Role, require
from libs.common.errors import Forbidden, InvalidInput, field_error
from services.reporting import audit
from services.reporting.clock import Now
from services.reporting.config import ReportingSettings
from services.reporting.errors import CursorInvalid, DossierUnknown, PeriodInvalid
from services.reporting.models import FACT_COLUMNS
from services.reporting.reports import closing, cursor, exports, parity, repository, service
from services.reporting.reports.definitions import INDICATORS
from services.reporting.reports.params import AgencyQ, Format, LevelQ, Part, Period, Split, period_window
from services.reporting.reports.periods import PeriodKind, WindowSystem, window
from services.reporting.schemas import (
    ComplianceReport,
    DossierFactRead,
    DrillDown,
    Index766Report,
    IndicatorDefRead,
    IndicatorReport,
    LateList,
    ParityReport,
    PeriodRead,
    ResultsForm,
)
from services.reporting.web import PDF_MEDIA_TYPE, render_pdf

router = APIRouter()

Reader = Annotated[Principal, Depends(require(Role.LEADER, Role.OPS))]


async def scoped_agency(principal: Reader, agency: AgencyQ = None) -> str | None:
    """The agency a report covers, within the caller's scope (docs/security.md, "Scoping"): a province-wide reader
    asks for any agency or the whole province; a reader of one agency gets that agency's figures; a reader of
    several names one of them. Another agency's figures are refused (403), never silently widened."""
    scope = principal.scope
    if scope.province_wide:
        return agency
    if agency is not None:
        if agency not in scope.agencies:
            raise Forbidden(f"Agency {agency} is outside your scope")
        return agency
    if len(scope.agencies) == 1:
        return next(iter(scope.agencies))
    if not scope.agencies:
        raise Forbidden("Your credentials name no agency: no figures to show")
    choices = ", ".join(sorted(scope.agencies))
    raise InvalidInput("Name the agency to report on", errors=[field_error(("agency",), f"required: one of {choices}")])


ScopedAgency = Annotated[str | None, Depends(scoped_agency)]


async def province_reader(principal: Reader) -> Principal:
    if not principal.scope.province_wide:
        raise Forbidden("This compares every agency's figures: it needs a province-wide scope")
    return principal


def _settings(request: Request) -> ReportingSettings:
    settings: ReportingSettings = request.app.state.settings
    return settings


def _file(content: bytes, media_type: str, filename: str) -> Response:
    return Response(
        content, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{filename}"'}
    )


@router.get("/indicators", tags=["indicators"], operation_id="list_indicators")
async def list_indicators() -> list[IndicatorDefRead]:
    """Every indicator reporting computes, with its exact definition (docs/reporting.md, "Indicators")."""
    return [
        IndicatorDefRead(code=d.code, name=d.name, definition=d.definition, basis=d.basis.value, unit=d.unit.value)
        for d in INDICATORS.values()
    ]


@router.get(
    "/reports/indicators",
    tags=["indicators"],
    operation_id="indicator_report",
    responses={404: {"content": {"application/problem+json": {}}, "description": "no such agency or indicator"}},
)
async def indicator_report(
    session: DBSession,
    _: Reader,
    agency: ScopedAgency,
    period: Period,
    level: LevelQ = None,
    sector: Annotated[str | None, Query(description="sector code")] = None,
    procedure: Annotated[str | None, Query(description="procedure code")] = None,
    indicator: Annotated[list[str] | None, Query(description="only these indicators")] = None,
    live: Annotated[bool, Query(description="a closed period: live figures instead of its snapshot")] = False,
) -> IndicatorReport:
    """Every indicator (or those named) for one scope and window: numerator, denominator, value, `no_data`.
    For a closed period the province's or an agency's figures come from its snapshot (`figures` says which version),
    unless `live=true`; other scopes are always live."""
    scope = service.request_scope(agency=agency, level=level, sector=sector, procedure=procedure)
    report = await service.indicator_results(session, period, scope, indicator)
    snapshot = None if live or level or sector or procedure else await closing.current_snapshot(session, period)
    frozen = closing.snapshot_figures(snapshot, agency or closing.PROVINCE) if snapshot else None
    if frozen is not None:
        for item in report["indicators"]:
            item.update(frozen.get(item["indicator"], {}))
    report["figures"] = await closing.figures_status(session, period, shown="snapshot" if frozen else "live")
    return IndicatorReport.model_validate(report)


@router.get("/reports/indicators/{code}/dossiers", tags=["indicators"], operation_id="indicator_drill_down")
async def indicator_drill_down(
    code: str,
    session: DBSession,
    principal: Reader,
    at: Now,
    agency: ScopedAgency,
    period: Period,
    part: Annotated[Part, Query(description="numerator or denominator")] = Part.NUMERATOR,
    level: LevelQ = None,
    sector: str | None = None,
    procedure: str | None = None,
    limit: Annotated[int, Query(ge=1, le=10_000, description="items per page (at most 10,000)")] = 1000,
    after: Annotated[
        str | None, Query(max_length=cursor.MAX_LENGTH, description="the `next` cursor of the previous page")
    ] = None,
    offset: Annotated[int | None, Query(include_in_schema=False)] = None,
) -> DrillDown:
    """The dossier codes behind an indicator's numerator or denominator (procedure codes, ticket ids or agency codes
    for the indicators that count those; `kind` says which), in code order, a page at a time: pass the response's
    `next` back as `after` for the following page; `next` is null on the last one. A cursor is opaque and bound to
    the indicator and part it came from; another one is 422 `cursor_invalid` naming `after`. `total` counts every
    page."""
    if offset is not None:  # silently serving page one to an old client would hand it the wrong dossiers
        raise CursorInvalid(
            "The drill-down pages by cursor: pass the previous page's `next` as `after`",
            errors=[field_error(("offset",), "not supported: use after")],
        )
    position = None
    if after is not None:
        try:
            position = cursor.decode(service.drill_query(code, part.value), after)
        except cursor.BadCursor as exc:
            raise CursorInvalid(f"Invalid cursor: {exc}", errors=[field_error(("after",), str(exc))]) from exc
    scope = service.request_scope(agency=agency, level=level, sector=sector, procedure=procedure)
    drill = await service.drill_down(session, code, part.value, period, scope, limit, position)
    if drill["kind"] == "dossiers":
        await audit.dossiers_shown(
            session, principal, at, drill["items"], action=AuditAction.EXPORT, list=f"indicator {code} {part.value}"
        )
    return DrillDown.model_validate(drill)


_FILES = {
    200: {
        "content": {exports.CSV_MEDIA_TYPE: {}, exports.XLSX_MEDIA_TYPE: {}, PDF_MEDIA_TYPE: {}},
        "description": "JSON, or with format=csv|xlsx|pdf the same report as a file",
    },
    404: {
        "content": {"application/problem+json": {}},
        "description": "no such plan, year of the plan, agency or indicator (problem+json)",
    },
}


@router.get(
    "/reports/compliance",
    tags=["reports"],
    operation_id="compliance_report",
    response_model=ComplianceReport,
    responses=_FILES,  # type: ignore[arg-type]
)
async def compliance_report(
    request: Request,
    session: DBSession,
    _: Reader,
    agency: ScopedAgency,
    at: Now,
    plan: Annotated[str, Query(description="plan id, see GET /plans")],
    year: Annotated[int, Query(ge=2000, le=2100)],
    quarter: Annotated[int | None, Query(ge=1, le=4, description="absent: the whole year")] = None,
    level: LevelQ = None,
    by_agency: Annotated[bool, Query(description="add a section per agency")] = False,
    window_system: Annotated[WindowSystem, Query(alias="window")] = WindowSystem.OFFICIAL,
    format: Annotated[Format, Query(description="json, csv, xlsx or pdf")] = Format.JSON,
) -> Response | ComplianceReport:
    """Each target of the plan with its actual value, numerator/denominator, met / not met / no data, the change
    since the previous period and the year-to-date figure — for the province and each level (or one agency or
    level). XLSX: one sheet per section, Vietnamese headings, formatted percentages. Windows are the official
    cut-off windows (Decree 09/2019) unless `window=calendar`; the report states them."""
    period = period_window(year=year, quarter=quarter, window_system=window_system)
    report = await service.compliance_report(
        session,
        plan_id=plan,
        year=year,
        period=period,
        agency=agency,
        level=level,
        by_agency=by_agency,
        province_name=_settings(request).province_name,
        at=at,
    )
    name = f"bao-cao-chi-tieu-{plan}-{year}" + (f"-q{quarter}" if quarter else "")
    if format is Format.CSV:
        return _file(exports.compliance_csv(report), exports.CSV_MEDIA_TYPE, f"{name}.csv")
    if format is Format.XLSX:
        return _file(exports.compliance_xlsx(report), exports.XLSX_MEDIA_TYPE, f"{name}.xlsx")
    if format is Format.PDF:
        pdf = await render_pdf(
            "reports/compliance.html", report=report, unit_name=report["province"], generated_at=report["generated_at"]
        )
        return _file(pdf, PDF_MEDIA_TYPE, f"{name}.pdf")
    report["figures"] = await closing.figures_status(session, period)
    return ComplianceReport.model_validate(report)


@router.get(
    "/reports/results-form",
    tags=["reports"],
    operation_id="results_form",
    response_model=ResultsForm,
    responses=_FILES,  # type: ignore[arg-type]
)
async def results_form(
    request: Request,
    session: DBSession,
    _: Reader,
    agency: ScopedAgency,
    at: Now,
    period: Period,
    level: LevelQ = None,
    format: Annotated[Format, Query(description="json, csv, xlsx or pdf")] = Format.JSON,
) -> Response | ResultsForm:
    """The official "results of handling administrative procedures" form (Biểu 06/VPCP/KSTT): per sector and per
    agency within each level — received (online / counter and postal / carried over), resolved (early / on time /
    late), in progress (within deadline / overdue at the window's end)."""
    form = await service.results_form(
        session, period=period, agency=agency, level=level, province_name=_settings(request).province_name, at=at
    )
    name = f"bieu-06-ket-qua-giai-quyet-{period.first_on:%Y%m%d}-{period.last_on:%Y%m%d}"
    if format is Format.XLSX:
        return _file(exports.results_form_xlsx(form), exports.XLSX_MEDIA_TYPE, f"{name}.xlsx")
    if format is Format.CSV:
        return _file(exports.results_form_csv(form), exports.CSV_MEDIA_TYPE, f"{name}.csv")
    if format is Format.PDF:
        pdf = await render_pdf(
            "reports/results_form.html", form=form, unit_name=form["province"], generated_at=form["generated_at"]
        )
        return _file(pdf, PDF_MEDIA_TYPE, f"{name}.pdf")
    form["figures"] = await closing.figures_status(session, period)
    return ResultsForm.model_validate(form)


@router.get("/reports/late-list", tags=["reports"], operation_id="late_list")
async def late_list(
    session: DBSession,
    _: Reader,
    agency: ScopedAgency,
    at: Now,
    year: Annotated[int, Query(ge=2000, le=2100, description="the month's year")],
    month: Annotated[int, Query(ge=1, le=12, description="the month, 1–12")],
    window_system: Annotated[
        WindowSystem,
        Query(alias="window", description="official: Decree 09/2019 cut-off (15th–14th); calendar: calendar months"),
    ] = WindowSystem.OFFICIAL,
    level: LevelQ = None,
) -> LateList:
    """The monthly list of late agencies and officers: each handling agency and each officer with a late dossier in
    the month, their on-time and late counts and the late share, worst first. Agencies count dossiers finished in
    the month and those overdue at its end; officers, the dossiers whose finishing step they recorded. Steps
    recorded before events named their officer count under "Không rõ" (unknown). The dashboard's card of the same
    name exports it as CSV, XLSX and PDF."""
    if window_system is WindowSystem.CUSTOM:
        raise PeriodInvalid("window is official or calendar", errors=[field_error(("window",), "invalid")])
    report = await service.late_list_report(
        session, period=window(window_system, PeriodKind.MONTH, year, month), agency=agency, level=level, at=at
    )
    return LateList.model_validate(report)


@router.get("/reports/periods", tags=["reports"], operation_id="report_periods")
async def report_periods(
    year: Annotated[int, Query(ge=2000, le=2100)],
    window_system: Annotated[WindowSystem, Query(alias="window")] = WindowSystem.OFFICIAL,
) -> list[PeriodRead]:
    """The windows of a year's months, quarters, halves and the year itself, as reports will use them."""
    if window_system is WindowSystem.CUSTOM:
        raise PeriodInvalid("window is official or calendar", errors=[field_error(("window",), "invalid")])
    out = []
    for kind, count in ((PeriodKind.MONTH, 12), (PeriodKind.QUARTER, 4), (PeriodKind.HALF, 2), (PeriodKind.YEAR, 1)):
        for n in range(1, count + 1):
            w = window(window_system, kind, year, n)
            out.append(PeriodRead.model_validate({"kind": kind.value, "number": n, **service.window_dict(w)}))
    return out


@router.get(
    "/reports/index-766",
    tags=["reports"],
    operation_id="index_766",
    response_model=Index766Report,
    responses=_FILES,  # type: ignore[arg-type]
)
async def index_766(
    request: Request,
    session: DBSession,
    _: Reader,
    agency: ScopedAgency,
    at: Now,
    year: Annotated[int, Query(ge=2000, le=2100)],
    quarter: Annotated[int | None, Query(ge=1, le=4)] = None,
    month: Annotated[int | None, Query(ge=1, le=12)] = None,
    by_agency: Annotated[bool, Query(description="add a section per agency")] = False,
    format: Annotated[Format, Query(description="json, csv, xlsx or pdf")] = Format.JSON,
) -> Response | Index766Report:
    """The Decision 766 service-quality index (six groups, 100 points) on calendar periods, as the national portal
    computes it: each criterion's rate, threshold and points, with the criteria motcua's events cannot supply
    marked as not available."""
    period = period_window(year=year, quarter=quarter, month=month, window_system=WindowSystem.CALENDAR)
    index = await service.index_766(
        session,
        period=period,
        agency=agency,
        by_agency=by_agency,
        province_name=_settings(request).province_name,
        at=at,
    )
    name = f"chi-so-766-{period.first_on:%Y%m%d}-{period.last_on:%Y%m%d}"
    if format is Format.PDF:
        pdf = await render_pdf(
            "reports/index766.html", index=index, unit_name=index["province"], generated_at=index["generated_at"]
        )
        return _file(pdf, PDF_MEDIA_TYPE, f"{name}.pdf")
    if format in (Format.CSV, Format.XLSX):
        tables = exports.index766_tables(index)
        if format is Format.CSV:
            return _file(exports.tables_csv(index["province"], index["period"]["description"], tables),
                         exports.CSV_MEDIA_TYPE, f"{name}.csv")  # fmt: skip
        return _file(exports.tables_xlsx(index["province"], index["period"]["description"], tables),
                     exports.XLSX_MEDIA_TYPE, f"{name}.xlsx")  # fmt: skip
    index["figures"] = await closing.figures_status(session, period)
    return Index766Report.model_validate(index)


@router.get("/reports/parity", tags=["operations"], operation_id="parity_check")
async def parity_check(
    request: Request,
    session: DBSession,
    _: Reader,
    at: Now,
    period: Period,
    _province: Annotated[Principal, Depends(province_reader)],
    split: Annotated[Split, Query(description="month: one comparison per month of the window's year")] = Split.NONE,
) -> ParityReport:
    """Compare reporting's counts per receiving agency (received, finished) with intake's own
    (`GET /stats/dossiers`) for the window, or for each of its months, and per dossier the intake events of the
    window's days missing in reporting or unknown to intake (`GET /outbox/digest`); any difference is listed as
    drift. Events younger than the drift grace period are not counted missing."""
    settings = _settings(request)
    windows = [period]
    if split is Split.MONTH and period.kind is not None and period.year is not None:
        months = [window(period.system, PeriodKind.MONTH, period.year, n) for n in range(1, 13)]
        windows = [w for w in months if period.start <= w.start and w.end <= period.end]
    result = await parity.parity(
        session,
        windows,
        intake_url=settings.intake_url,
        api_key=settings.intake_api_key,
        timeout=settings.intake_timeout_seconds,
        settled_before=at - timedelta(seconds=settings.drift_grace_seconds),
    )
    return ParityReport.model_validate(result)


@router.get("/dossiers/{code}/fact", tags=["traceability"], operation_id="dossier_fact")
async def dossier_fact(code: str, session: DBSession, principal: Reader, at: Now) -> DossierFactRead:
    """A dossier's fact row and the ledger of events it was folded from (identity codes hashed). 404 for a dossier
    of an agency outside the caller's scope, as for one reporting never heard of."""
    fact = await repository.fact(session, principal.scope, code)
    if fact is None:
        raise DossierUnknown(f"No events about dossier {code}")
    events = await repository.ledger_rows(session, code)
    await audit.dossiers_shown(session, principal, at, [code], list="fact")
    return DossierFactRead.model_validate(
        {
            "fact": {c: getattr(fact, c) for c in FACT_COLUMNS},
            "events": [
                {"event_id": e.event_id, "type": e.name, "recorded_at": e.recorded_at, "data": e.data} for e in events
            ],
        }
    )
