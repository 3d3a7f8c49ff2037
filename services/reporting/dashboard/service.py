"""The dashboard's data: one view per plan, period and scope, assembled from the report use cases (reports.service)
and the dashboard's deadline queries. Read-only; "now" is passed in. Each card is also a list of plain tables, the
source of its CSV and XLSX exports."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from libs.common.calendar import WorkingCalendar
from libs.common.web.charts import Series, line_chart
from services.reporting.dashboard import forecast as fc
from services.reporting.dashboard import repository
from services.reporting.plans import repository as plans_repository
from services.reporting.reports import repository as reports_repository
from services.reporting.reports import service as reports
from services.reporting.reports.definitions import INDICATORS
from services.reporting.reports.exports import NUMBER_FORMAT, PERCENT_FORMAT, Table, index766_tables
from services.reporting.reports.periods import VN_TZ, PeriodKind, Window, WindowSystem, local_midnight, window
from services.reporting.reports.results_form import level_label
from services.reporting.reports.scope import Scope

TREND_INDICATORS = ("on_time_rate", "online_intake_rate", "e_result_rate", "digitised_intake_rate", "satisfaction_rate")
WINDOW_VI = {
    WindowSystem.OFFICIAL: "khung thời gian chính thức (Nghị định 09/2019/NĐ-CP: từ ngày 15 tháng trước đến ngày 14)",
    WindowSystem.CALENDAR: "theo lịch (từ ngày 1 đến cuối tháng)",
}
CARDS = ("targets", "drill", "trends", "index766", "deadlines", "late", "forecast")


@dataclass(frozen=True)
class View:
    """What the viewer asked for, after their principal's scope is applied."""

    plan_id: str | None
    year: int
    quarter: int | None = None
    month: int | None = None
    window_system: WindowSystem = WindowSystem.OFFICIAL
    level: str | None = None
    agency: str | None = None
    procedure: str | None = None

    def period(self) -> Window:
        if self.month:
            return window(self.window_system, PeriodKind.MONTH, self.year, self.month)
        if self.quarter:
            return window(self.window_system, PeriodKind.QUARTER, self.year, self.quarter)
        return window(self.window_system, PeriodKind.YEAR, self.year)

    def scope(self) -> Scope:
        return reports.request_scope(
            agency=self.agency, level=None if self.agency else self.level, procedure=self.procedure
        )

    def query(self, **changes: Any) -> dict[str, Any]:
        """The query string of this view (or of a view with ``changes``), for links."""
        v = replace(self, **changes)
        params = {
            "plan": v.plan_id,
            "year": v.year,
            "quarter": v.quarter,
            "month": v.month,
            "window": v.window_system.value,
            "level": v.level,
            "agency": v.agency,
            "procedure": v.procedure,
        }
        return {k: val for k, val in params.items() if val is not None}


async def plans(session: AsyncSession) -> list[dict[str, Any]]:
    return [
        {"plan_id": p.plan_id, "name": p.name, "years": list(p.years)} for p in await plans_repository.plans(session)
    ]


def default_plan(available: list[dict[str, Any]], year: int) -> str | None:
    """A plan covering ``year`` (the latest such), else the plan whose last year is nearest."""
    covering = [p for p in available if year in p["years"]]
    if covering:
        return str(covering[-1]["plan_id"])
    if available:
        return str(max(available, key=lambda p: max(p["years"] or [0]))["plan_id"])
    return None


def months_elapsed(view: View, at: datetime) -> int:
    """Months of ``view.year`` (in its window system) whose window has started by ``at``."""
    return sum(1 for n in range(1, 13) if window(view.window_system, PeriodKind.MONTH, view.year, n).start <= at)


async def build(
    session: AsyncSession,
    view: View,
    *,
    province_name: str,
    at: datetime,
    calendar: WorkingCalendar,
    cards: tuple[str, ...] = CARDS,
) -> dict[str, Any]:
    period = view.period()
    scope = view.scope()
    agencies = await reports_repository.agency_infos(session)
    data: dict[str, Any] = {
        "view": view,
        "period": reports.window_dict(period),
        "window_vi": WINDOW_VI.get(period.system, "khoảng ngày tùy chọn"),
        "scope_label": scope_label(view, agencies),
        "province": province_name,
        "generated_at": at.isoformat(),
    }
    compliance = None
    if view.plan_id and ("targets" in cards or "forecast" in cards) and view.procedure is None:
        compliance = await reports.compliance_report(
            session,
            plan_id=view.plan_id,
            year=view.year,
            period=period,
            agency=view.agency,
            level=None if view.agency else view.level,
            province_name=province_name,
            at=at,
        )
        data["plan"] = compliance["plan"]
        data["year_to_date"] = compliance["year_to_date"]
        data["section"] = _main_section(compliance, view)
    if "targets" in cards and view.procedure is not None:
        data["indicators"] = await reports.indicator_results(session, period, scope)
    if "drill" in cards:
        data["drill"] = await _drill(session, view, period, agencies)
    if "trends" in cards:
        data["trends"] = await _trends(session, view, scope, at)
    if "index766" in cards:
        data["index766"] = await _index766(session, view, period, province_name, at, agencies)
    if "deadlines" in cards:
        data["deadlines"] = await _deadlines(session, scope, at, calendar, agencies)
    if "late" in cards:
        data["late"] = await _late_list(session, view, at)
    if "forecast" in cards and compliance is not None:
        data["forecast"] = _forecasts(
            data["section"],
            months_elapsed(view, at) if view.quarter is None and view.month is None else _months_to(period, view),
        )
    return data


def _months_to(period: Window, view: View) -> int:
    """Months of the year counted in the year-to-date figures of a quarter or month view."""
    if view.month:
        return view.month
    return 3 * (view.quarter or 4)


def scope_label(view: View, agencies: dict[str, Any]) -> str:
    if view.agency:
        info = agencies.get(view.agency)
        label = f"{info.name} ({view.agency})" if info and info.name else view.agency
    elif view.level:
        label = level_label(view.level)
    else:
        label = "Toàn tỉnh"
    return label + (f" — thủ tục {view.procedure}" if view.procedure else "")


def _main_section(compliance: dict[str, Any], view: View) -> dict[str, Any]:
    key = f"agency:{view.agency}" if view.agency else f"level:{view.level}" if view.level else "province"
    section: dict[str, Any] = next(s for s in compliance["sections"] if s["key"] == key)
    return section


async def _drill(session: AsyncSession, view: View, period: Window, agencies: dict[str, Any]) -> dict[str, Any]:
    """The next step down: levels of the province, agencies of a level, procedures of an agency."""
    if view.procedure is not None:
        return {"step": "dossiers", "items": []}
    if view.agency is not None:
        procedures = await repository.procedures_of(session, view.scope(), period.start, period.end)
        return {
            "step": "procedures",
            "items": [{"label": f"{name} ({code})", "query": view.query(procedure=code)} for code, name in procedures],
        }
    if view.level is not None:
        return {
            "step": "agencies",
            "items": [
                {"label": a.name or a.code, "query": view.query(agency=a.code, level=None)}
                for a in sorted(agencies.values(), key=lambda a: a.code)
                if a.level == view.level
            ],
        }
    levels = await reports_repository.levels_in_use(session)
    return {"step": "levels", "items": [{"label": level_label(lv), "query": view.query(level=lv)} for lv in levels]}


async def _trends(session: AsyncSession, view: View, scope: Scope, at: datetime) -> dict[str, Any]:
    months = [
        w for w in (window(view.window_system, PeriodKind.MONTH, view.year, n) for n in range(1, 13)) if w.start <= at
    ]
    values: dict[str, list[float | None]] = {code: [] for code in TREND_INDICATORS}
    counts: list[list[Any]] = []
    for w in months:
        result = await reports.indicator_results(session, w, scope, TREND_INDICATORS)
        by_code = {r["indicator"]: r for r in result["indicators"]}
        for code in TREND_INDICATORS:
            values[code].append(by_code[code]["value"])
        counts.append([w.label, *(by_code[code]["value"] for code in TREND_INDICATORS)])
    labels = [f"T{w.number}" for w in months]
    series = [Series(INDICATORS[code].name, values[code]) for code in TREND_INDICATORS]
    return {
        "svg": line_chart("Các chỉ tiêu chính theo tháng", labels, series) if months else "",
        "names": [INDICATORS[code].name for code in TREND_INDICATORS],
        "rows": counts,
    }


async def _index766(
    session: AsyncSession, view: View, period: Window, province_name: str, at: datetime, agencies: dict[str, Any]
) -> dict[str, Any]:
    """Decision 766 is computed on calendar periods whatever the dashboard's window system."""
    calendar_period = window(WindowSystem.CALENDAR, period.kind or PeriodKind.YEAR, view.year, period.number or 1)
    index = await reports.index_766(
        session,
        period=calendar_period,
        agency=view.agency,
        by_agency=view.agency is None,
        province_name=province_name,
        at=at,
    )
    if view.level and not view.agency:  # a level's view lists that level's agencies (the province line stays)
        wanted = {f"agency:{a.code}" for a in agencies.values() if a.level == view.level}
        index["sections"] = [s for s in index["sections"] if s["key"] == "province" or s["key"] in wanted]
    return index


async def _deadlines(
    session: AsyncSession, scope: Scope, at: datetime, calendar: WorkingCalendar, agencies: dict[str, Any]
) -> dict[str, Any]:
    today = at.astimezone(VN_TZ).date()
    # "within one working day": due from now to the end of the next working day (a weekend or holiday in between
    # does not count)
    horizon = local_midnight(calendar.next_working_day(today) + timedelta(days=1))
    soon = await repository.due_between(session, scope, at, horizon)
    late = await repository.overdue(session, scope, at)

    def item(f: Any) -> dict[str, Any]:
        info = agencies.get(f.handling_agency_code)
        return {
            "code": f.dossier_code,
            "procedure": f.procedure_name or f.procedure_code,
            "agency": info.name if info and info.name else f.handling_agency_code,
            "due_at": f.due_at.isoformat() if f.due_at else None,
            "apologised": f.apologised_at is not None,
            "apology_new_due": f.apology_due_at.isoformat() if f.apology_due_at else None,
        }

    return {
        "soon": [item(f) for f in soon],
        "overdue": [item(f) for f in late],
        "limit": repository.LIMIT,
        "horizon": horizon.isoformat(),
    }


def late_month(view: View, at: datetime) -> Window:
    """The month of the late list: the view's month, else the latest month of the view's quarter or year whose
    window has started by ``at`` (the first one if none has)."""
    if view.month:
        return window(view.window_system, PeriodKind.MONTH, view.year, view.month)
    numbers = range(3 * view.quarter - 2, 3 * view.quarter + 1) if view.quarter else range(1, 13)
    months = [window(view.window_system, PeriodKind.MONTH, view.year, n) for n in numbers]
    started = [w for w in months if w.start <= at]
    return started[-1] if started else months[0]


async def _late_list(session: AsyncSession, view: View, at: datetime) -> dict[str, Any]:
    """The monthly list of late agencies and officers (``reports.late_list``) for the view's scope."""
    return await reports.late_list_report(
        session, period=late_month(view, at), agency=view.agency, level=None if view.agency else view.level, at=at
    )


def _forecasts(section: dict[str, Any], elapsed: int) -> list[dict[str, Any]]:
    out = []
    for r in section["rows"]:
        ytd = r["year_to_date"]
        target = r["target"]
        is_proportion = r["unit"] == "%" and target.get("baseline") is None
        f = fc.forecast(
            ytd["numerator"],
            ytd["denominator"],
            comparator=target["comparator"],
            target=float(target["value"]),
            months_elapsed=elapsed,
            is_proportion=is_proportion,
        )
        out.append(
            {
                "indicator_name": r["indicator_name"],
                "target": target["text"],
                "scope": target["scope_label"],
                "numerator": ytd["numerator"],
                "denominator": ytd["denominator"],
                "forecast": f,
            }
        )
    return out


# --------------------------------------------------------------------------------------------- cards as tables


def _fraction(value: float | None) -> float | str:
    return "không có dữ liệu" if value is None else value / 100


def card_tables(card: str, data: dict[str, Any]) -> list[Table]:
    scope = data["scope_label"]
    if card == "targets" and "section" in data:
        rows = [
            [
                i,
                r["indicator_name"],
                r["target"]["scope_label"],
                r["target"]["text"],
                r["actual"]["numerator"],
                r["actual"]["denominator"],
                _fraction(r["actual"]["value"]) if r["unit"] == "%" else r["actual"]["value"],
                r["actual"]["status_vi"],
            ]
            for i, r in enumerate(data["section"]["rows"], start=1)
        ]
        return [
            Table(
                "Chỉ tiêu kế hoạch",
                scope,
                ["STT", "Chỉ tiêu", "Phạm vi chỉ tiêu", "Mục tiêu", "Tử số", "Mẫu số", "Kết quả", "Đánh giá"],
                rows,
                {6: PERCENT_FORMAT},
            )
        ]
    if card == "targets" and "indicators" in data:
        rows = [[r["name"], r["numerator"], r["denominator"], r["value"]] for r in data["indicators"]["indicators"]]
        return [Table("Chỉ số", scope, ["Chỉ số", "Tử số", "Mẫu số", "Kết quả"], rows, {3: NUMBER_FORMAT})]
    if card == "trends":
        return [
            Table(
                "Xu hướng theo tháng",
                scope,
                ["Tháng", *data["trends"]["names"]],
                [[r[0], *(_fraction(v) for v in r[1:])] for r in data["trends"]["rows"]],
                {i: PERCENT_FORMAT for i in range(1, 1 + len(TREND_INDICATORS))},
            )
        ]
    if card == "index766":
        return index766_tables(data["index766"])
    if card == "deadlines":
        d = data["deadlines"]
        headings = ["Mã hồ sơ", "Thủ tục", "Cơ quan giải quyết", "Hạn giải quyết", "Đã xin lỗi", "Hẹn lại"]

        def listed(items: list[dict[str, Any]]) -> list[list[Any]]:
            return [
                [
                    i["code"],
                    i["procedure"],
                    i["agency"],
                    _local(i["due_at"]),
                    "Có" if i["apologised"] else "Chưa",
                    _local(i["apology_new_due"]),
                ]
                for i in items
            ]

        return [
            Table("Sắp đến hạn (1 ngày làm việc)", scope, headings, listed(d["soon"])),
            Table("Quá hạn", scope, headings, listed(d["overdue"])),
        ]
    if card == "late":
        late = data["late"]
        month = late["period"]["description"]
        counts = ["Đúng hạn, trước hạn", "Quá hạn", "Đang quá hạn cuối tháng", "Tỷ lệ chậm muộn"]
        agencies = [
            [month, a["agency_name"], a["agency_code"], a["on_time"], a["late"], a["overdue"], a["late_share"] / 100]
            for a in late["agencies"]
        ]
        officers = [
            [month, o["officer_name"], o["agency_name"], o["on_time"], o["late"], o["late_share"] / 100]
            for o in late["officers"]
        ]
        return [
            Table(
                "Cơ quan chậm muộn",
                scope,
                ["Tháng", "Cơ quan", "Mã", *counts],
                agencies,
                {6: PERCENT_FORMAT},
                note=late["attribution"],
            ),
            Table(
                "Cán bộ chậm muộn",
                scope,
                ["Tháng", "Cán bộ", "Cơ quan", counts[0], counts[1], counts[3]],
                officers,
                {5: PERCENT_FORMAT},
                note=late["attribution"],
            ),
        ]
    if card == "forecast":
        rows = [
            [
                f["indicator_name"],
                f["scope"],
                f["target"],
                f["numerator"],
                f["denominator"],
                _fraction(f["forecast"].value),
                _fraction(f["forecast"].low),
                _fraction(f["forecast"].high),
                f["forecast"].expected_remaining,
                f["forecast"].verdict_vi,
            ]
            for f in data.get("forecast", [])
        ]
        return [
            Table(
                "Dự báo cả năm",
                scope,
                [
                    "Chỉ tiêu",
                    "Phạm vi",
                    "Mục tiêu",
                    "Lũy kế: tử số",
                    "Lũy kế: mẫu số",
                    "Lũy kế: tỷ lệ",
                    "Khoảng 95%: thấp",
                    "Khoảng 95%: cao",
                    "Khối lượng dự kiến các tháng còn lại",
                    "Dự báo",
                ],
                rows,
                {5: PERCENT_FORMAT, 6: PERCENT_FORMAT, 7: PERCENT_FORMAT},
                note=METHOD_VI,
            )
        ]
    return []


METHOD_VI = (
    "Phương pháp: tỷ lệ lũy kế từ đầu năm (tử số/mẫu số) và khoảng tin cậy Wilson 95% cho tỷ lệ của các tháng còn lại; "
    "khối lượng các tháng còn lại ước bằng bình quân tháng của mẫu số lũy kế; giá trị cuối năm = (tử số + tỷ lệ × khối "
    "lượng dự kiến) / (mẫu số + khối lượng dự kiến). Đánh giá 'nhiều khả năng đạt' khi cả khoảng đều đạt mục tiêu, "
    "'nhiều khả năng không đạt' khi cả khoảng đều không đạt, còn lại là 'chưa chắc chắn'."
)


def _local(value: str | None) -> str:
    if value is None:
        return ""
    return datetime.fromisoformat(value).astimezone(VN_TZ).strftime("%H:%M %d/%m/%Y")


def today_in_vietnam(at: datetime) -> date:
    return at.astimezone(VN_TZ).date()
