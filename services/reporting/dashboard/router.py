"""The dashboard's pages: ``/dashboard`` (``/`` redirects there), the dossiers behind a number, and each card as CSV,
XLSX or PDF. Thin: resolve the viewer's scope, call the dashboard service, render."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from libs.common.app import DBSession
from libs.common.audit import AuditAction
from libs.common.auth import Principal, Role, require
from libs.common.calendar import CalendarSettings, WorkingCalendar
from libs.common.errors import Forbidden, field_error
from libs.common.signin import SESSION_COOKIE
from libs.common.web import STATIC_PREFIX
from services.reporting import audit
from services.reporting.clock import Now
from services.reporting.config import ReportingSettings
from services.reporting.dashboard import service
from services.reporting.dashboard.forecast import VERDICT_VI
from services.reporting.errors import CursorInvalid
from services.reporting.reports import cursor, exports
from services.reporting.reports import repository as reports_repository
from services.reporting.reports import service as reports
from services.reporting.reports.definitions import INDICATORS
from services.reporting.reports.params import Part
from services.reporting.reports.periods import WindowSystem
from services.reporting.web import HTML_MEDIA_TYPE, PDF_MEDIA_TYPE, render, render_pdf

router = APIRouter(tags=["dashboard"])

Viewer = Annotated[Principal, Depends(require(Role.LEADER, Role.OPS))]
_HTML: dict[int | str, dict[str, Any]] = {
    200: {"content": {HTML_MEDIA_TYPE: {}}, "description": "an HTML page"},
    404: {"content": {"application/problem+json": {}}, "description": "no such plan, year of the plan or agency"},
}


class CardFormat(StrEnum):
    CSV = "csv"
    XLSX = "xlsx"
    PDF = "pdf"


class Card(StrEnum):
    TARGETS = "targets"
    TRENDS = "trends"
    INDEX766 = "index766"
    DEADLINES = "deadlines"
    LATE = "late"
    FORECAST = "forecast"


def _settings(request: Request) -> ReportingSettings:
    settings: ReportingSettings = request.app.state.settings
    return settings


def _calendar(request: Request) -> WorkingCalendar:
    """The province's working calendar (MOTCUA_CALENDAR_*), built once per app."""
    calendar = getattr(request.app.state, "calendar", None)
    if not isinstance(calendar, WorkingCalendar):
        calendar = WorkingCalendar.from_settings(CalendarSettings())
        request.app.state.calendar = calendar
    return calendar


async def dashboard_view(
    session: DBSession,
    principal: Viewer,
    at: Now,
    plan: Annotated[str | None, Query(description="plan id; absent: a plan covering the year")] = None,
    year: Annotated[int | None, Query(ge=2000, le=2100, description="absent: this year")] = None,
    quarter: Annotated[int | None, Query(ge=1, le=4)] = None,
    month: Annotated[int | None, Query(ge=1, le=12)] = None,
    window_system: Annotated[WindowSystem, Query(alias="window", description="official or calendar")] = (
        WindowSystem.OFFICIAL
    ),
    level: Annotated[str | None, Query(description="province, district or commune")] = None,
    agency: Annotated[str | None, Query(description="agency code")] = None,
    procedure: Annotated[str | None, Query(description="procedure code (with agency)")] = None,
) -> service.View:
    """The view asked for, within the viewer's scope: a principal tied to some agencies sees those agencies only
    (the first of them unless one is named), and every query of the page is filtered to it."""
    if window_system is WindowSystem.CUSTOM:
        window_system = WindowSystem.OFFICIAL
    scope = principal.scope
    if not scope.province_wide:
        if not scope.agencies:
            raise Forbidden("This account is not scoped to any agency")
        if agency is not None and agency not in scope.agencies:
            raise Forbidden("This account may not see that agency")
        agency, level = agency or sorted(scope.agencies)[0], None
    asked_year = year
    year = year or service.today_in_vietnam(at).year
    if quarter is not None and month is not None:
        month = None
    available = await service.plans(session)
    plan = plan or service.default_plan(available, year)
    if asked_year is None:
        # No year asked for and no plan covers this one: open on the chosen plan's last year rather than on a year
        # it cannot judge (a plan is judged only within its years).
        years: list[int] = next((p["years"] for p in available if p["plan_id"] == plan), [])
        if years and year not in years:
            year = max(years)
    return service.View(plan, year, quarter, month, window_system, level, agency, procedure if agency else None)


View = Annotated[service.View, Depends(dashboard_view)]


def _page_context(request: Request, principal: Principal, data: dict[str, Any]) -> dict[str, Any]:
    return {
        **data,
        "unit_name": _settings(request).province_name,
        "principal_name": principal.name,
        "restricted": not principal.scope.province_wide,
        "own_agencies": sorted(principal.scope.agencies),
        "verdict_vi": VERDICT_VI,
        "method": service.METHOD_VI,
        "window_system": WindowSystem,
    }


@router.get("/", include_in_schema=False)
async def home(request: Request) -> RedirectResponse:
    """A browser without a session goes to the sign-in page first, then to the dashboard."""
    signed_in = SESSION_COOKIE in request.cookies or "authorization" in request.headers
    return RedirectResponse("/dashboard" if signed_in else "/signin?next=/dashboard", status_code=307)


@router.get("/dashboard", operation_id="dashboard", response_class=HTMLResponse, responses=_HTML)
async def dashboard(request: Request, session: DBSession, principal: Viewer, view: View, at: Now) -> HTMLResponse:
    """The province at a glance (HTML, Vietnamese): targets met / not met / no data, drill-down, monthly trends, the
    Decision 766 index, dossiers due or overdue, late agencies per month and the year-end forecast."""
    settings = _settings(request)
    data = await service.build(session, view, province_name=settings.province_name, at=at, calendar=_calendar(request))
    await _audit_deadlines(session, principal, at, data, AuditAction.READ)
    data["plans"] = await service.plans(session)
    return HTMLResponse(render("dashboard/page.html", **_page_context(request, principal, data)))


@router.get("/favicon.ico", include_in_schema=False)
async def favicon() -> RedirectResponse:
    """Browsers ask for /favicon.ico on pages that name no icon (the sign-in page): the shared icon answers."""
    return RedirectResponse(f"{STATIC_PREFIX}/favicon.svg", status_code=308)


@router.get(
    "/dashboard/dossiers",
    operation_id="dashboard_dossiers",
    response_class=HTMLResponse,
    responses=_HTML,
)
async def dashboard_dossiers(
    request: Request,
    session: DBSession,
    principal: Viewer,
    view: View,
    at: Now,
    indicator: Annotated[str, Query(description="indicator code")],
    part: Annotated[Part, Query(description="numerator or denominator")] = Part.DENOMINATOR,
    limit: Annotated[int, Query(ge=1, le=1000, description="dossiers per page")] = 1000,
    after: Annotated[str | None, Query(max_length=cursor.MAX_LENGTH, description="the next page's cursor")] = None,
) -> HTMLResponse:
    """The dossiers behind a number of the dashboard, `limit` a page (the page links to the next by keyset cursor),
    with their due time, outcome and apology."""
    position = None
    if after is not None:
        try:
            position = cursor.decode(reports.drill_query(indicator, part.value), after)
        except cursor.BadCursor as exc:
            raise CursorInvalid(f"Invalid cursor: {exc}", errors=[field_error(("after",), str(exc))]) from exc
    drill = await reports.drill_down(session, indicator, part.value, view.period(), view.scope(), limit, position)
    facts = await reports_repository.facts(session, drill["items"]) if drill["kind"] == "dossiers" else []
    await audit.dossiers_shown(
        session, principal, at, [f.dossier_code for f in facts], list=f"dashboard {indicator} {part.value}"
    )
    agencies = await reports_repository.agency_infos(session)
    data = {
        "view": view,
        "drill": drill,
        "indicator_name": INDICATORS[indicator].name,
        "facts": sorted(facts, key=lambda f: f.dossier_code),
        "agency_names": {code: a.name for code, a in agencies.items()},
        "period": reports.window_dict(view.period()),
        "scope_label": service.scope_label(view, agencies),
        "generated_at": at.isoformat(),
    }
    return HTMLResponse(render("dashboard/dossiers.html", **_page_context(request, principal, data)))


_FILES: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {exports.CSV_MEDIA_TYPE: {}, exports.XLSX_MEDIA_TYPE: {}, PDF_MEDIA_TYPE: {}},
        "description": "the card as CSV, XLSX or PDF",
    }
}


@router.get("/dashboard/cards/{card}", operation_id="dashboard_card", responses=_FILES)
async def dashboard_card(
    card: Card,
    request: Request,
    session: DBSession,
    principal: Viewer,
    view: View,
    at: Now,
    format: Annotated[CardFormat, Query(description="csv, xlsx or pdf")] = CardFormat.XLSX,
) -> Response:
    """One card of the dashboard as a file, for the same plan, period and scope."""
    settings = _settings(request)
    data = await service.build(
        session,
        view,
        province_name=settings.province_name,
        at=at,
        calendar=_calendar(request),
        cards=(card.value,),
    )
    await _audit_deadlines(session, principal, at, data, AuditAction.EXPORT)
    name = f"bang-dieu-khien-{card.value}-{view.year}"
    if format is CardFormat.PDF:
        context = _page_context(request, principal, data)
        pdf = await render_pdf("dashboard/card.html", card=card.value, **context)
        return _file(pdf, PDF_MEDIA_TYPE, f"{name}.pdf")
    tables = service.card_tables(card.value, data)
    period = f"{data['period']['description']} — {data['window_vi']}"
    if format is CardFormat.CSV:
        return _file(exports.tables_csv(settings.province_name, period, tables), exports.CSV_MEDIA_TYPE, f"{name}.csv")
    return _file(exports.tables_xlsx(settings.province_name, period, tables), exports.XLSX_MEDIA_TYPE, f"{name}.xlsx")


async def _audit_deadlines(
    session: AsyncSession, principal: Principal, at: datetime, data: dict[str, Any], action: AuditAction
) -> None:
    """The deadlines card lists dossiers (due soon, overdue): shown on the page or exported, each is recorded."""
    deadlines = data.get("deadlines")
    if deadlines:
        codes = [item["code"] for item in (*deadlines["soon"], *deadlines["overdue"])]
        await audit.dossiers_shown(session, principal, at, codes, action=action, list="dashboard deadlines")


def _file(content: bytes, media_type: str, filename: str) -> Response:
    return Response(
        content, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{filename}"'}
    )
