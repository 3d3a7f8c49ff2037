"""The year-end forecast of a target: will this year's pace meet it?

Method (stated on the page): the year-to-date proportion p = numerator / denominator with its Wilson score interval
at 95 % (z = 1.96), which stays inside [0, 1] and is honest for small counts and for p near 0 or 1. The months still
to come are expected to bring R = the year-to-date denominator's monthly average times the months left; the year-end
value is (numerator + θ·R) / (denominator + R) for the remaining months' rate θ, whose range is the Wilson interval,
so the year-end range is that mix at both ends (the months already counted are facts, not uncertain). The verdict is
"likely met" when the whole interval meets the target, "likely not met" when none of it does, else "uncertain". Only
percentage targets on counts are forecast (averages and per-officer figures are not proportions).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

Z95 = 1.959964


class Verdict(StrEnum):
    LIKELY_MET = "likely_met"
    LIKELY_NOT_MET = "likely_not_met"
    UNCERTAIN = "uncertain"
    NO_DATA = "no_data"
    NOT_FORECAST = "not_forecast"


VERDICT_VI = {
    Verdict.LIKELY_MET: "Nhiều khả năng đạt",
    Verdict.LIKELY_NOT_MET: "Nhiều khả năng không đạt",
    Verdict.UNCERTAIN: "Chưa chắc chắn",
    Verdict.NO_DATA: "Không có dữ liệu",
    Verdict.NOT_FORECAST: "Không dự báo (chỉ tiêu không phải tỷ lệ)",
}


def wilson(successes: int, trials: int, z: float = Z95) -> tuple[float, float] | None:
    """The Wilson score interval of a proportion, as fractions; ``None`` without trials."""
    if trials <= 0:
        return None
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def meets(value: float, comparator: str, target: float) -> bool:
    """``value`` and ``target`` in the same unit (percent)."""
    return {
        ">": value > target,
        "≥": value >= target,
        "<": value < target,
        "≤": value <= target,
        "=": math.isclose(value, target, abs_tol=1e-9),
    }[comparator]


@dataclass(frozen=True)
class Forecast:
    verdict: Verdict
    value: float | None = None  # percent
    low: float | None = None
    high: float | None = None
    expected_remaining: int | None = None  # dossiers (or other units) the remaining months should bring
    expected_year_total: int | None = None

    @property
    def verdict_vi(self) -> str:
        return VERDICT_VI[self.verdict]


def forecast(
    numerator: float | None,
    denominator: int | None,
    *,
    comparator: str,
    target: float,
    months_elapsed: int,
    months_total: int = 12,
    is_proportion: bool = True,
) -> Forecast:
    """The forecast of a percentage target from the year-to-date counts after ``months_elapsed`` months."""
    if not is_proportion:
        return Forecast(Verdict.NOT_FORECAST)
    if not denominator or numerator is None or months_elapsed <= 0:
        return Forecast(Verdict.NO_DATA)
    remaining_months = max(0, months_total - months_elapsed)
    expected_remaining = round(denominator / months_elapsed * remaining_months)
    year_total = denominator + expected_remaining
    p = float(numerator) / denominator
    interval = wilson(round(float(numerator)), denominator)
    assert interval is not None
    low, high = ((float(numerator) + theta * expected_remaining) / year_total * 100 for theta in interval)
    if meets(low, comparator, target) and meets(high, comparator, target):
        verdict = Verdict.LIKELY_MET
    elif not meets(low, comparator, target) and not meets(high, comparator, target):
        verdict = Verdict.LIKELY_NOT_MET
    else:
        verdict = Verdict.UNCERTAIN
    return Forecast(verdict, round(p * 100, 2), round(low, 2), round(high, 2), expected_remaining, year_total)
