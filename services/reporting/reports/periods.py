"""Reporting periods: the official cut-off windows of Decree 09/2019/NĐ-CP Art. 12 and calendar windows.

Official periodic reports cut data off from the 15th of the month before the period to the 14th of the period's last
month (Q1 = 15 Dec – 14 Mar, …, year = 15 Dec – 14 Dec). The Decision 766 index and requests with ``window=calendar``
use calendar months, quarters and years. Both systems give half-open windows ``[start, end)`` of UTC instants,
computed from local dates in Asia/Ho_Chi_Minh, and every report states the window it used.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
CUT_OFF_DAY = 15  # Decree 09/2019 Art. 12: data from the 15th of the previous month to the 14th


class WindowSystem(StrEnum):
    OFFICIAL = "official"
    CALENDAR = "calendar"
    CUSTOM = "custom"


class PeriodKind(StrEnum):
    MONTH = "month"
    QUARTER = "quarter"
    HALF = "half"
    YEAR = "year"


_MONTHS_PER_KIND = {PeriodKind.MONTH: 1, PeriodKind.QUARTER: 3, PeriodKind.HALF: 6, PeriodKind.YEAR: 12}
_COUNT_PER_YEAR = {PeriodKind.MONTH: 12, PeriodKind.QUARTER: 4, PeriodKind.HALF: 2, PeriodKind.YEAR: 1}
_ROMAN = {1: "I", 2: "II", 3: "III", 4: "IV"}


@dataclass(frozen=True)
class Window:
    """A reporting window: local dates ``first_on`` … ``last_on`` inclusive, as UTC instants ``[start, end)``."""

    start: datetime
    end: datetime
    first_on: date
    last_on: date
    label: str
    system: WindowSystem
    kind: PeriodKind | None = None
    year: int | None = None
    number: int | None = None

    @property
    def days(self) -> int:
        return (self.last_on - self.first_on).days + 1

    def contains(self, at: datetime | None) -> bool:
        return at is not None and self.start <= at < self.end

    def describe(self) -> str:
        """The window as printed on a report: ``Quý I/2024 (15/12/2023 – 14/03/2024)``."""
        return f"{self.label} ({self.first_on:%d/%m/%Y} – {self.last_on:%d/%m/%Y})"


def local_midnight(on: date) -> datetime:
    """The UTC instant at which the local (Asia/Ho_Chi_Minh) day ``on`` begins."""
    return datetime.combine(on, time(0, 0), tzinfo=VN_TZ).astimezone(UTC)


def _add_months(year: int, month: int, months: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + months
    return index // 12, index % 12 + 1


def _check(kind: PeriodKind, number: int) -> None:
    if not 1 <= number <= _COUNT_PER_YEAR[kind]:
        raise ValueError(f"{kind.value} number must be between 1 and {_COUNT_PER_YEAR[kind]}")


def _label(kind: PeriodKind, year: int, number: int) -> str:
    if kind is PeriodKind.MONTH:
        return f"Tháng {number:02d}/{year}"
    if kind is PeriodKind.QUARTER:
        return f"Quý {_ROMAN[number]}/{year}"
    if kind is PeriodKind.HALF:
        return f"6 tháng {'đầu' if number == 1 else 'cuối'} năm {year}"
    return f"Năm {year}"


def _make(
    first_on: date,
    last_on: date,
    label: str,
    system: WindowSystem,
    kind: PeriodKind | None = None,
    year: int | None = None,
    number: int | None = None,
) -> Window:
    return Window(
        start=local_midnight(first_on),
        end=local_midnight(last_on + timedelta(days=1)),
        first_on=first_on,
        last_on=last_on,
        label=label,
        system=system,
        kind=kind,
        year=year,
        number=number,
    )


def official_window(kind: PeriodKind | str, year: int, number: int = 1) -> Window:
    """The Decree 09/2019 window of period ``number`` of ``kind`` in ``year``.

    A period of m months whose last month is L runs from the 15th of month L − m to the 14th of month L
    (Q1 2024: 15/12/2023 – 14/03/2024; the 2024 year: 15/12/2023 – 14/12/2024). The second half-year, which the
    decree does not name, follows the same rule: 15/06 – 14/12.
    """
    kind = PeriodKind(kind)
    _check(kind, number)
    months = _MONTHS_PER_KIND[kind]
    last_month = number * months
    first_year, first_month = _add_months(year, last_month, -months)
    return _make(
        date(first_year, first_month, CUT_OFF_DAY),
        date(year, last_month, CUT_OFF_DAY - 1),
        _label(kind, year, number),
        WindowSystem.OFFICIAL,
        kind,
        year,
        number,
    )


def calendar_window(kind: PeriodKind | str, year: int, number: int = 1) -> Window:
    """The calendar period (month, quarter, half-year, year) ``number`` of ``year``, as the national index uses."""
    kind = PeriodKind(kind)
    _check(kind, number)
    months = _MONTHS_PER_KIND[kind]
    first_month = (number - 1) * months + 1
    next_year, next_month = _add_months(year, first_month, months)
    return _make(
        date(year, first_month, 1),
        date(next_year, next_month, 1) - timedelta(days=1),
        _label(kind, year, number),
        WindowSystem.CALENDAR,
        kind,
        year,
        number,
    )


def window(system: WindowSystem | str, kind: PeriodKind | str, year: int, number: int = 1) -> Window:
    system = WindowSystem(system)
    if system is WindowSystem.OFFICIAL:
        return official_window(kind, year, number)
    if system is WindowSystem.CALENDAR:
        return calendar_window(kind, year, number)
    raise ValueError("a custom window is built with custom_window(first_on, last_on)")


def custom_window(first_on: date, last_on: date) -> Window:
    """Any run of local dates, both inclusive."""
    if last_on < first_on:
        raise ValueError("the window ends before it starts")
    return _make(first_on, last_on, f"Từ {first_on:%d/%m/%Y} đến {last_on:%d/%m/%Y}", WindowSystem.CUSTOM)


def previous(w: Window) -> Window:
    """The period just before ``w`` in the same system (Q1's previous quarter is Q4 of the year before)."""
    if w.kind is None or w.year is None or w.number is None:
        length = w.last_on - w.first_on
        last_on = w.first_on - timedelta(days=1)
        return custom_window(last_on - length, last_on)
    if w.number > 1:
        return window(w.system, w.kind, w.year, w.number - 1)
    return window(w.system, w.kind, w.year - 1, _COUNT_PER_YEAR[w.kind])


def year_to_date(w: Window) -> Window:
    """From the start of ``w``'s year (in its system) to the end of ``w``.

    Q3 2024 official → 15/12/2023 – 14/09/2024."""
    if w.kind is None or w.year is None:
        return w
    year = window(w.system, PeriodKind.YEAR, w.year)
    label = f"Lũy kế {w.year} đến hết {w.label[0].lower()}{w.label[1:]}"
    return _make(year.first_on, w.last_on, label, w.system, None, w.year, None)


def same_period_previous_year(w: Window) -> Window:
    if w.kind is None or w.year is None or w.number is None:
        raise ValueError("only named periods have a previous year")
    return window(w.system, w.kind, w.year - 1, w.number)
