"""Report use cases: the indicators of a scope and window and their drill-down, the plan-compliance report, the
official results form and the Decision 766 index. Read-only; "now" (a report's ``generated_at``) is passed in."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.reporting.errors import AgencyUnknown, IndicatorUnknown, PlanYearNotCovered
from services.reporting.plans.service import get_plan
from services.reporting.reports import compliance as c
from services.reporting.reports import cursor, index766, late_list, repository
from services.reporting.reports.definitions import INDICATORS, Basis
from services.reporting.reports.indicators import GroupedData, evaluate, procedure_members
from services.reporting.reports.periods import VN_TZ, Window
from services.reporting.reports.results_form import COLUMNS, EXTRA_COLUMNS, form_rows, level_label, total_row
from services.reporting.reports.scope import Scope


def window_dict(w: Window) -> dict[str, Any]:
    return {
        "label": w.label,
        "description": w.describe(),
        "system": w.system.value,
        "from": w.first_on.isoformat(),
        "to": w.last_on.isoformat(),
        "start": w.start.isoformat(),
        "end": w.end.isoformat(),
    }


class GroupCache:
    """Grouped counts per window, computed once per report and shared by every row and section."""

    def __init__(self, session: AsyncSession, where: Scope | None, by_agency: bool, procedures: bool) -> None:
        self.session = session
        self.where = where
        self.by_agency = by_agency
        self.procedures = procedures
        self.cache: dict[Window, GroupedData] = {}
        self.instants: dict[tuple[datetime, bool], dict[Any, dict[str, int]]] = {}

    async def load(self, windows: Sequence[Window]) -> None:
        await repository.tune_for_reports(self.session)
        agencies = await repository.agency_infos(self.session)
        catalogue = await repository.procedure_versions(self.session)
        for w in windows:
            if w not in self.cache:
                self.cache[w] = await repository.grouped(
                    self.session,
                    w,
                    where=self.where,
                    by_agency=self.by_agency,
                    procedures=self.procedures,
                    agencies=agencies,
                    catalogue=catalogue,
                    instants=self.instants,
                )

    def __call__(self, w: Window) -> GroupedData:
        return self.cache[w]


def request_scope(
    *, agency: str | None = None, level: str | None = None, sector: str | None = None, procedure: str | None = None
) -> Scope:
    return Scope(
        levels=frozenset({level}) if level else None,
        agencies=frozenset({agency}) if agency else None,
        sector_codes=frozenset({sector}) if sector else None,
        procedures=frozenset({procedure}) if procedure else None,
    )


async def indicator_results(
    session: AsyncSession, w: Window, scope: Scope, codes: Sequence[str] | None = None
) -> dict[str, Any]:
    codes = list(codes or INDICATORS)
    for code in codes:
        if code not in INDICATORS:
            raise IndicatorUnknown(f"Unknown indicator {code!r}; GET /indicators lists them")
    needs_procedures = any(INDICATORS[code].basis in (Basis.PROCEDURE, Basis.PAYMENT) for code in codes)
    cache = GroupCache(session, scope, by_agency=scope.agencies is not None, procedures=needs_procedures)
    await cache.load([w])
    g = cache(w)
    return {
        "window": window_dict(w),
        "scope": _scope_dict(scope),
        "attribution": ATTRIBUTION,
        "indicators": [
            {
                "name": INDICATORS[code].name,
                "definition": INDICATORS[code].definition,
                **evaluate(code, g, [scope]).as_dict(),
            }
            for code in codes
        ],
    }


ATTRIBUTION = (
    "Dossiers count for the agency and level that handle them (handling_agency_code of DossierReceived); staff "
    "productivity counts dossiers at the receiving desk."
)


def _scope_dict(scope: Scope) -> dict[str, Any]:
    return {
        "level": sorted(scope.levels)[0] if scope.levels else None,
        "agency": sorted(scope.agencies)[0] if scope.agencies else None,
        "sector": sorted(scope.sector_codes)[0] if scope.sector_codes else None,
        "procedure": sorted(scope.procedures)[0] if scope.procedures else None,
    }


def drill_query(code: str, part: str) -> str:
    """What a drill-down cursor is bound to."""
    return f"{code}:{part}"


async def drill_down(
    session: AsyncSession, code: str, part: str, w: Window, scope: Scope, limit: int, after: str | None = None
) -> dict[str, Any]:
    """The dossiers behind an indicator's numerator or denominator (procedures, tickets for the few indicators
    that count those), one page of ``limit`` items in code order after the item ``after`` (decoded from the
    cursor); ``next`` is the cursor of the following page, None on the last."""
    d = INDICATORS.get(code)
    if d is None:
        raise IndicatorUnknown(f"Unknown indicator {code!r}; GET /indicators lists them")
    body: dict[str, Any] = {"indicator": code, "part": part, "window": window_dict(w), "scope": _scope_dict(scope)}
    query = drill_query(code, part)
    if d.numerator_flag is not None and d.denominator_flag is not None:
        flag = d.numerator_flag if part == "numerator" else d.denominator_flag
        total, codes = await repository.drill_down(session, w, flag, scope, limit + 1, after)
        items, next_cursor = cursor.page(codes, limit, query)
        return {**body, "kind": "dossiers", "flag": flag, "total": total, "limit": limit, "items": items,
                "next": next_cursor}  # fmt: skip
    kind, members = await _drill_other(session, code, part, w, scope)
    ordered = sorted(set(members))  # the same order and the same keyset rule as the dossiers' drill-down
    rest = ordered[bisect_right(ordered, after) :] if after is not None else ordered
    items, next_cursor = cursor.page(rest[: limit + 1], limit, query)
    return {**body, "kind": kind, "total": len(ordered), "limit": limit, "items": items, "next": next_cursor}


async def _drill_other(session: AsyncSession, code: str, part: str, w: Window, scope: Scope) -> tuple[str, list[str]]:
    basis = INDICATORS[code].basis
    if basis is Basis.UNRECORDED:
        return "none", []
    if basis in (Basis.PROCEDURE, Basis.CATALOGUE):
        cache = GroupCache(session, scope, by_agency=scope.agencies is not None, procedures=True)
        await cache.load([w])
        numerator, denominator = procedure_members(code, cache(w), [scope])
        return "procedures", numerator if part == "numerator" else denominator
    if basis is Basis.PAYMENT:
        return "dossiers", await repository.payment_dossiers(session, w, scope, online_only=part == "numerator")
    if basis is Basis.VISIT:
        return "tickets", await repository.visit_tickets(session, w, scope)
    if part == "numerator":  # staff productivity: dossiers received at the desks in scope
        return "dossiers", await repository.desk_dossiers(session, w, scope)
    agencies = await repository.agency_infos(session)
    return "agencies", sorted(
        a.code
        for a in agencies.values()
        if a.desk_officers and scope.matches(level=a.level, agency=a.code, area_kind=a.area_kind, check_sector=False)
    )


async def compliance_report(
    session: AsyncSession,
    *,
    plan_id: str,
    year: int,
    period: Window,
    agency: str | None = None,
    level: str | None = None,
    by_agency: bool = False,
    province_name: str = "",
    at: datetime,
) -> dict[str, Any]:
    plan = await get_plan(session, plan_id)
    if not plan.covers(year):
        first, last = plan.span
        raise PlanYearNotCovered(
            f"Plan {plan_id!r} covers {first}–{last}, not {year}: it sets no target for that year",
            plan_years=list(plan.years),
            span=[first, last],
        )
    sections = await _sections(session, agency=agency, level=level, by_agency=by_agency)
    windows = c.Windows.around(period)
    targets = [t for _, t in plan.targets_for(year)]
    needs_agency = (
        agency is not None
        or by_agency
        or any(t.scope_filter.agencies is not None or t.scope_filter.area_kinds is not None for t in targets)
    )
    needs_procedures = any(INDICATORS[t.indicator].basis in (Basis.PROCEDURE, Basis.PAYMENT) for t in targets)
    where = request_scope(agency=agency, level=level) if (agency or level) else None
    cache = GroupCache(session, where, by_agency=needs_agency, procedures=needs_procedures)
    await cache.load(windows.all(with_baselines=any(t.baseline for t in targets)))
    out_sections = []
    for section in sections:
        rows = c.build_rows(plan, year, section, windows, cache)
        out_sections.append(
            {
                "key": section.key,
                "label": section.label,
                "level": section.level,
                "rows": [r.as_dict() for r in rows],
                "summary": c.summary(rows),
            }
        )
    return {
        "report": "plan_compliance",
        "province": province_name or plan.province,
        "plan": {
            "plan_id": plan.plan_id,
            "name": plan.name,
            "legal_reference": plan.legal_reference,
            "years": list(plan.years),
        },
        "year": year,
        "period": window_dict(windows.current),
        "previous_period": window_dict(windows.previous),
        "year_to_date": window_dict(windows.year_to_date),
        "attribution": ATTRIBUTION,
        "generated_at": at.isoformat(),
        "sections": out_sections,
    }


async def _sections(
    session: AsyncSession, *, agency: str | None, level: str | None, by_agency: bool
) -> list[c.Section]:
    agencies = await repository.agency_infos(session)
    if agency is not None:
        info = agencies.get(agency)
        agency_level = info.level if info else await repository.level_of_agency(session, agency)
        if agency_level is None:
            raise AgencyUnknown(f"No agency {agency!r} in the catalogue replica or the dossiers")
        label = f"{info.name} ({agency})" if info and info.name else agency
        return [c.Section(f"agency:{agency}", label, Scope(agencies=frozenset({agency})), agency_level)]
    levels = [level] if level else await repository.levels_in_use(session)
    sections = [] if level else [c.Section("province", "Toàn tỉnh", Scope())]
    for lv in levels:
        sections.append(c.Section(f"level:{lv}", level_label(lv), Scope(levels=frozenset({lv})), lv))
    if by_agency:
        for a in sorted(agencies.values(), key=lambda a: (a.level or "", a.code)):
            if level is None or a.level == level:
                sections.append(
                    c.Section(f"agency:{a.code}", a.name or a.code, Scope(agencies=frozenset({a.code})), a.level)
                )
    return sections


async def results_form(
    session: AsyncSession,
    *,
    period: Window,
    agency: str | None,
    level: str | None,
    province_name: str,
    at: datetime,
) -> dict[str, Any]:
    where = request_scope(agency=agency, level=level) if (agency or level) else None
    cache = GroupCache(session, where, by_agency=True, procedures=False)
    await cache.load([period])
    g = cache(period)
    scopes = [where] if where is not None else []
    out: dict[str, Any] = {
        "report": "results_form",
        "form": "Biểu 06/VPCP/KSTT (Thông tư 01/2020/TT-VPCP)",
        "title": "KẾT QUẢ GIẢI QUYẾT THỦ TỤC HÀNH CHÍNH",
        "province": province_name,
        "period": window_dict(period),
        "unit": "hồ sơ",
        "attribution": ATTRIBUTION,
        "columns": [{"key": k, "heading": h, "number": i + 3} for i, (k, h) in enumerate(COLUMNS)]
        + [{"key": k, "heading": h, "number": None} for k, h in EXTRA_COLUMNS],
        "generated_at": at.isoformat(),
    }
    for by in ("sector", "agency"):
        rows = form_rows(g, scopes, by=by)
        blocks = []
        for lv in dict.fromkeys(r.level for r in rows):
            level_rows = [r for r in rows if r.level == lv]
            blocks.append(
                {
                    "level": lv,
                    "label": level_label(lv),
                    "rows": [r.as_dict() for r in level_rows],
                    "total": total_row(level_rows, f"Cộng {level_label(lv).lower()}", lv).as_dict(),
                }
            )
        out[f"by_{by}"] = {"levels": blocks, "total": total_row(rows).as_dict()}
    return out


async def index_766(
    session: AsyncSession,
    *,
    period: Window,
    agency: str | None,
    by_agency: bool,
    province_name: str,
    at: datetime,
) -> dict[str, Any]:
    """The Decision 766 index for the province (or one agency) and, on request, for each agency."""
    where = request_scope(agency=agency) if agency else None
    cache = GroupCache(session, where, by_agency=True, procedures=True)
    await cache.load([period])
    g = cache(period)
    today = at.astimezone(VN_TZ).date()  # a duty whose due day is still to come is not judged late yet
    sections: list[dict[str, Any]] = []
    if agency is None:
        sections.append({"key": "province", "label": "Toàn tỉnh", **index766.index(g, [], today)})
    agencies = g.agencies
    codes = [agency] if agency else (sorted(agencies) if by_agency else [])
    for code in codes:
        info = agencies.get(code)
        label = f"{info.name} ({code})" if info and info.name else code
        sections.append(
            {"key": f"agency:{code}", "label": label, **index766.index(g, [Scope(agencies=frozenset({code}))], today)}
        )
    return {
        "report": "decision_766_index",
        "legal_reference": "Quyết định số 766/QĐ-TTg ngày 23/6/2022 của Thủ tướng Chính phủ",
        "province": province_name,
        "period": window_dict(period),
        "attribution": ATTRIBUTION,
        "scoring": "with a threshold T: full points if rate ≥ T, else rate × points / T; otherwise rate × points; "
        "no denominator → no data; criteria the events cannot supply are listed as not available and the total is "
        "given over the points assessed as well",
        "generated_at": at.isoformat(),
        "sections": sections,
    }


async def late_list_report(
    session: AsyncSession, *, period: Window, agency: str | None, level: str | None, at: datetime
) -> dict[str, Any]:
    """The month's list of late agencies and officers within a handling-agency scope (``late_list``)."""
    scope = request_scope(agency=agency, level=None if agency else level)
    rows = await repository.late_list_rows(session, period, scope)
    agencies = await repository.agency_infos(session)
    listed = late_list.late_list(rows, {code: a.name for code, a in agencies.items()})
    return {
        "report": "late_list",
        "period": window_dict(period),
        # a month still under way is counted up to now, and said so
        "complete": period.end <= at,
        "scope": {"agency": agency, "level": None if agency else level},
        "attribution": late_list.ATTRIBUTION_VI,
        "generated_at": at.isoformat(),
        **listed,
    }
