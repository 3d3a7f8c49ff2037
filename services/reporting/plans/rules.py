"""Plans as data: a province's plan names targets (indicator, comparator, value, scope, year) that reports judge.

A plan is loaded from a file or the API, never coded: next year's plan needs no release. Comparators matter:
"trên 90%" is ``>`` 90 and "tối thiểu 90%" is ``≥`` 90. A target may compare the change over the previous year
instead of the value (``baseline: previous_year``: "+20 points over 2021").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from fractions import Fraction
from typing import Any

from services.reporting.reports.definitions import INDICATORS
from services.reporting.reports.scope import Scope

PLAN_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{1,99}$")


class Comparator(StrEnum):
    GT = ">"
    GE = "≥"
    LT = "<"
    LE = "≤"
    EQ = "="


# ASCII spellings accepted on input; stored and printed as the plan's own symbols.
COMPARATOR_ALIASES = {">=": Comparator.GE, "<=": Comparator.LE, "==": Comparator.EQ}


class Status(StrEnum):
    MET = "met"
    NOT_MET = "not_met"
    NO_DATA = "no_data"


STATUS_VI = {Status.MET: "Đạt", Status.NOT_MET: "Không đạt", Status.NO_DATA: "Không có dữ liệu"}


def parse_comparator(raw: str) -> Comparator:
    raw = raw.strip()
    if raw in COMPARATOR_ALIASES:
        return COMPARATOR_ALIASES[raw]
    return Comparator(raw)


def judge(actual: Fraction | None, comparator: Comparator, target: Fraction) -> Status:
    """Met / not met / no data, on the exact value (a rounded 98.004% is still above 98%)."""
    if actual is None:
        return Status.NO_DATA
    met = {
        Comparator.GT: actual > target,
        Comparator.GE: actual >= target,
        Comparator.LT: actual < target,
        Comparator.LE: actual <= target,
        Comparator.EQ: actual == target,
    }[comparator]
    return Status.MET if met else Status.NOT_MET


class PlanError(ValueError):
    """A plan document that breaks a rule; ``errors`` name the offending fields."""

    def __init__(self, errors: list[tuple[tuple[str | int, ...], str]]) -> None:
        super().__init__("; ".join(f"{'.'.join(map(str, loc))}: {msg}" for loc, msg in errors))
        self.errors = errors


@dataclass(frozen=True)
class Target:
    indicator: str
    comparator: Comparator
    value: float
    year: int | None = None  # None: every year of the plan
    scope: dict[str, Any] = field(default_factory=dict)
    baseline: str | None = None  # "previous_year": compare the change in points over the year before
    note: str | None = None  # the plan's own words

    @property
    def scope_filter(self) -> Scope:
        return Scope.from_mapping(self.scope)

    @property
    def scope_label(self) -> str:
        if self.scope.get("label"):
            return str(self.scope["label"])
        parts = []
        if self.scope.get("level"):
            parts.append(f"cấp {LEVEL_VI.get(str(self.scope['level']), self.scope['level'])}")
        if self.scope.get("area_kind"):
            parts.append(AREA_VI.get(str(self.scope["area_kind"]), str(self.scope["area_kind"])))
        return ", ".join(parts) or "toàn tỉnh"

    def describe(self) -> str:
        value = f"{self.value:g}"
        unit = "" if INDICATORS[self.indicator].unit.value != "%" else "%"
        change = " (tăng so với năm trước, điểm %)" if self.baseline == "previous_year" else ""
        return f"{self.comparator.value} {value}{unit}{change}"

    def contract_scope(self) -> dict[str, Any]:
        """The scope as carried in ``PlanLoaded`` (the contract has no baseline field: it travels in the scope)."""
        scope = dict(self.scope)
        if self.baseline:
            scope["baseline"] = self.baseline
        if self.note:
            scope["note"] = self.note
        return scope


LEVEL_VI = {"province": "tỉnh", "district": "huyện", "commune": "xã"}
AREA_VI = {"urban": "đô thị", "rural": "vùng nông thôn", "remote": "vùng sâu, vùng xa"}


@dataclass(frozen=True)
class Plan:
    plan_id: str
    name: str
    legal_reference: str
    years: tuple[int, ...]
    targets: tuple[Target, ...]
    province: str | None = None
    issued_on: str | None = None
    source: str | None = None  # where the targets come from (seed file, section)

    @property
    def span(self) -> tuple[int, int]:
        """First and last year the plan covers (a 2021–2025 plan covers every year between)."""
        return min(self.years), max(self.years)

    def covers(self, year: int) -> bool:
        first, last = self.span
        return first <= year <= last

    def targets_for(self, year: int) -> list[tuple[int, Target]]:
        """The targets that apply in ``year``: those of that year and those without a year. For a year between
        milestones (2023 in a plan with 2022 and 2025 targets) the next milestone's targets apply: they are what
        the province is working towards. Returns (position in the plan, target)."""
        chosen: list[tuple[int, Target]] = []
        dated = sorted({t.year for t in self.targets if t.year is not None})
        milestone = next((y for y in dated if y >= year), None)
        for position, t in enumerate(self.targets):
            if t.year is None or t.year == milestone:
                chosen.append((position, t))
        return chosen


def milestone_label(target: Target, year: int) -> str | None:
    """A target judged in a year between milestones is the next milestone's: say so ("target for 2025")."""
    if target.year is None or target.year == year:
        return None
    return f"target for {target.year}"


def _target(raw: Any, position: int) -> tuple[Target | None, list[tuple[tuple[str | int, ...], str]]]:
    loc: tuple[str | int, ...] = ("targets", position)
    errors: list[tuple[tuple[str | int, ...], str]] = []
    if not isinstance(raw, dict):
        return None, [(loc, "a target is an object")]
    indicator = raw.get("indicator")
    if indicator not in INDICATORS:
        errors.append(((*loc, "indicator"), f"unknown indicator {indicator!r}; known: {', '.join(INDICATORS)}"))
    try:
        comparator = parse_comparator(str(raw.get("comparator", "")))
    except ValueError:
        errors.append(((*loc, "comparator"), "comparator is one of >, ≥, <, ≤, = (or >=, <=)"))
        comparator = Comparator.GE
    value = raw.get("value")
    if not isinstance(value, int | float) or isinstance(value, bool):
        errors.append(((*loc, "value"), "value is a number"))
        value = 0
    year = raw.get("year")
    if year is not None and (not isinstance(year, int) or not 2000 <= year <= 2100):
        errors.append(((*loc, "year"), "year is a four-digit year"))
    scope = raw.get("scope") or {}
    if not isinstance(scope, dict):
        errors.append(((*loc, "scope"), "scope is an object"))
        scope = {}
    scope = dict(scope)
    baseline = raw.get("baseline", scope.pop("baseline", None))
    note = raw.get("note", scope.pop("note", None))
    unknown = set(scope) - {
        "level",
        "agency",
        "area_kind",
        "sector_codes",
        "sector_names",
        "exclude_sector_codes",
        "exclude_sector_names",
        "procedure",
        "label",
        "sector_group",
    }
    if unknown:
        errors.append(((*loc, "scope"), f"unknown scope keys: {', '.join(sorted(unknown))}"))
    if baseline not in (None, "previous_year"):
        errors.append(((*loc, "baseline"), "baseline is 'previous_year' or absent"))
    if errors:
        return None, errors
    return Target(str(indicator), comparator, float(value), year, scope, baseline, note), []


def parse_plan(raw: Any) -> Plan:
    """A plan from its JSON document (plan files, ``POST /plans``, ``PlanLoaded`` events)."""
    if not isinstance(raw, dict):
        raise PlanError([((), "a plan is an object")])
    errors: list[tuple[tuple[str | int, ...], str]] = []
    plan_id = str(raw.get("plan_id") or raw.get("id") or "")
    if not PLAN_ID.match(plan_id):
        errors.append((("plan_id",), "plan_id: lowercase letters, digits, '.', '_' or '-' (2–100 characters)"))
    for name in ("name", "legal_reference"):
        if not isinstance(raw.get(name), str) or not raw[name].strip():
            errors.append(((name,), f"{name} is required"))
    years = raw.get("years")
    if not isinstance(years, list) or not years or not all(isinstance(y, int) for y in years):
        errors.append((("years",), "years is a non-empty list of years"))
        years = []
    targets_raw = raw.get("targets")
    targets: list[Target] = []
    if not isinstance(targets_raw, list) or not targets_raw:
        errors.append((("targets",), "targets is a non-empty list"))
    else:
        for position, t in enumerate(targets_raw):
            target, target_errors = _target(t, position)
            errors.extend(target_errors)
            if target is not None:
                targets.append(target)
    if errors:
        raise PlanError(errors)
    return Plan(
        plan_id=plan_id,
        name=str(raw["name"]).strip(),
        legal_reference=str(raw["legal_reference"]).strip(),
        years=tuple(sorted(set(years))),
        targets=tuple(targets),
        province=raw.get("province"),
        issued_on=raw.get("issued_on"),
        source=raw.get("source"),
    )


def plan_document(plan: Plan) -> dict[str, Any]:
    """The plan back as the JSON document ``parse_plan`` reads."""
    return {
        "plan_id": plan.plan_id,
        "name": plan.name,
        "legal_reference": plan.legal_reference,
        "province": plan.province,
        "issued_on": plan.issued_on,
        "source": plan.source,
        "years": list(plan.years),
        "targets": [
            {
                "indicator": t.indicator,
                "comparator": t.comparator.value,
                "value": t.value,
                "year": t.year,
                "scope": t.scope,
                **({"baseline": t.baseline} if t.baseline else {}),
                **({"note": t.note} if t.note else {}),
            }
            for t in plan.targets
        ],
    }
