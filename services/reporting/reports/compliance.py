"""The plan-compliance report: every target of a plan judged for a period and a set of scopes (sections).

Each row gives the actual value with its numerator and denominator, met / not met / no data, the change in points
since the previous period, and the year-to-date figure. The figures come from ``GroupedData`` per window, computed
once per window and shared by every row and section, so a report costs a handful of grouped queries.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from services.reporting.plans.rules import STATUS_VI, Plan, Status, Target, judge, milestone_label
from services.reporting.reports.definitions import INDICATORS
from services.reporting.reports.indicators import GroupedData, IndicatorResult, evaluate
from services.reporting.reports.periods import Window, previous, same_period_previous_year, year_to_date
from services.reporting.reports.scope import Scope


@dataclass(frozen=True)
class Section:
    """One block of the report: the province, a level or an agency."""

    key: str
    label: str
    scope: Scope
    level: str | None = None  # the level of the section (an agency's level for an agency section)


@dataclass(frozen=True)
class Figure:
    result: IndicatorResult
    status: Status
    actual: Fraction | None  # what is judged: the value, or its change over the previous year for such targets
    baseline: IndicatorResult | None = None

    def as_dict(self) -> dict[str, Any]:
        body = self.result.as_dict()
        body["status"] = self.status.value
        body["status_vi"] = STATUS_VI[self.status]
        if self.baseline is not None:
            body["baseline_value"] = self.baseline.value
            body["judged_change"] = None if self.actual is None else round(float(self.actual), 2)
        return body


@dataclass(frozen=True)
class Row:
    position: int
    target: Target
    current: Figure
    previous: IndicatorResult
    change: float | None  # points (or minutes, dossiers …) since the previous period
    year_to_date: Figure
    label: str | None = None  # "target for 2025" when judged in a year between milestones

    def as_dict(self) -> dict[str, Any]:
        d = INDICATORS[self.target.indicator]
        return {
            "position": self.position,
            "indicator": d.code,
            "indicator_name": d.name,
            "unit": d.unit.value,
            "target": {
                "comparator": self.target.comparator.value,
                "value": self.target.value,
                "year": self.target.year,
                "scope": self.target.scope,
                "scope_label": self.target.scope_label,
                "baseline": self.target.baseline,
                "text": self.target.describe(),
                "note": self.target.note,
                "label": self.label,
                "label_vi": f"chỉ tiêu năm {self.target.year}" if self.label else None,
            },
            "actual": self.current.as_dict(),
            "previous_period": self.previous.as_dict(),
            "change_since_previous": self.change,
            "year_to_date": self.year_to_date.as_dict(),
        }


def applies(target: Target, section: Section) -> bool:
    """A target for one level is not shown for another level's section (nor for its agencies)."""
    levels = target.scope_filter.levels
    if levels is None:
        return True
    if section.level is not None:
        return section.level in levels
    return section.scope.levels is None or bool(section.scope.levels & levels)


@dataclass(frozen=True)
class Windows:
    current: Window
    previous: Window
    year_to_date: Window

    @classmethod
    def around(cls, w: Window) -> Windows:
        return cls(w, previous(w), year_to_date(w))

    def baselines(self) -> list[Window]:
        """The same period and year-to-date a year earlier (for targets set as a change over the previous year)."""
        if self.current.kind is None:
            return []
        before = same_period_previous_year(self.current)
        return [before, year_to_date(before)]

    def all(self, with_baselines: bool) -> list[Window]:
        return [self.current, self.previous, self.year_to_date, *(self.baselines() if with_baselines else [])]


def _figure(target: Target, g: GroupedData, scopes: Sequence[Scope], baseline: GroupedData | None) -> Figure:
    result = evaluate(target.indicator, g, scopes)
    goal = Fraction(str(target.value))
    if target.baseline == "previous_year" and baseline is not None:
        before = evaluate(target.indicator, baseline, scopes)
        change = None if result.exact is None or before.exact is None else result.exact - before.exact
        return Figure(result, judge(change, target.comparator, goal), change, before)
    return Figure(result, judge(result.exact, target.comparator, goal), result.exact)


def build_rows(
    plan: Plan,
    year: int,
    section: Section,
    windows: Windows,
    grouped: Callable[[Window], GroupedData],
) -> list[Row]:
    rows = []
    baselines = windows.baselines()
    for position, target in plan.targets_for(year):
        if not applies(target, section):
            continue
        scopes = [section.scope, target.scope_filter]
        needs_baseline = target.baseline == "previous_year" and bool(baselines)
        current = _figure(target, grouped(windows.current), scopes, grouped(baselines[0]) if needs_baseline else None)
        ytd = _figure(target, grouped(windows.year_to_date), scopes, grouped(baselines[1]) if needs_baseline else None)
        prev = evaluate(target.indicator, grouped(windows.previous), scopes)
        change = (
            None
            if current.result.exact is None or prev.exact is None
            else round(float(current.result.exact - prev.exact), 2)
        )
        rows.append(Row(position, target, current, prev, change, ytd, milestone_label(target, year)))
    return rows


def summary(rows: Sequence[Row]) -> dict[str, int]:
    counts = {s.value: 0 for s in Status}
    for r in rows:
        counts[r.current.status.value] += 1
    return counts
