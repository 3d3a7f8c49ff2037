"""Rules a procedure must satisfy before it is published: its internal process fits its legal time limit, its
inter-agency flag agrees with its participants, its document codes are unique."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from libs.common.contract import DocumentComponent, LimitUnit, ProcessStep, ResultDocument, TimeLimitData

# A working day counts as 8 working hours (docs/domain.md §Working hours). A same-day procedure is due at closing
# time of the receipt day, so its process can use at most one working day.
WORKING_DAY_HOURS = 8.0


@dataclass(frozen=True)
class Issue:
    """One broken rule: where (a path in the request body) and why."""

    loc: tuple[str | int, ...]
    msg: str


def limit_hours(limit: TimeLimitData) -> float:
    """The legal time limit in working hours."""
    if limit.unit is LimitUnit.WORKING_DAYS:
        return limit.amount * WORKING_DAY_HOURS
    if limit.unit is LimitUnit.WORKING_HOURS:
        return float(limit.amount)
    return WORKING_DAY_HOURS


def describe_limit(limit: TimeLimitData) -> str:
    if limit.unit is LimitUnit.WORKING_DAYS:
        return f"{limit.amount} working days"
    if limit.unit is LimitUnit.WORKING_HOURS:
        return f"{limit.amount} working hours"
    return "the same day"


def check_time_limit(limit: TimeLimitData) -> list[Issue]:
    if limit.unit is LimitUnit.SAME_DAY:
        return [] if limit.amount == 0 else [Issue(("time_limit", "amount"), "a same-day limit has amount 0")]
    if limit.amount < 1:
        return [Issue(("time_limit", "amount"), "must be at least 1 (use unit same_day for same-day procedures)")]
    return []


def check_process(steps: Sequence[ProcessStep], limit: TimeLimitData) -> list[Issue]:
    """Steps are numbered 1, 2, … in order; their allowances add up to at most the legal limit. The issue names the
    first step that takes the running total past the limit, which is the one to shorten or move."""
    issues: list[Issue] = []
    orders = [step.order for step in steps]
    if orders != list(range(1, len(steps) + 1)):
        issues.append(Issue(("process",), "steps must be numbered 1, 2, 3, … in order"))
    allowed = limit_hours(limit)
    total = 0.0
    for index, step in enumerate(steps):
        total += step.allowance_hours
        if total > allowed + 1e-9:
            issues.append(
                Issue(
                    ("process", index, "allowance_hours"),
                    f"step {step.order} ({step.actor}: {step.action}) brings the process to {total:g} working hours,"
                    f" over the legal time limit of {describe_limit(limit)} ({allowed:g} working hours)",
                )
            )
            break
    return issues


def check_inter_agency(inter_agency: bool, participating: Sequence[str]) -> list[Issue]:
    if inter_agency and not participating:
        return [Issue(("participating_agencies",), "an inter-agency (liên thông) procedure names its participants")]
    if not inter_agency and participating:
        return [Issue(("participating_agencies",), "only an inter-agency (liên thông) procedure has participants")]
    return []


def check_documents(components: Sequence[DocumentComponent], results: Sequence[ResultDocument]) -> list[Issue]:
    issues: list[Issue] = []
    seen: set[str] = set()
    for index, component in enumerate(components):
        if component.code in seen:
            issues.append(Issue(("components", index, "code"), f"document-type code {component.code} repeated"))
        seen.add(component.code)
        if component.copies < 1:
            issues.append(Issue(("components", index, "copies"), "at least 1 copy"))
    seen_results: set[str] = set()
    for index, result in enumerate(results):
        if result.type_code in seen_results:
            issues.append(Issue(("results", index, "type_code"), f"result type code {result.type_code} repeated"))
        seen_results.add(result.type_code)
    return issues
