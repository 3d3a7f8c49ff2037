"""Query parameters shared by the report endpoints: the report's window, scope filters and formats."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from fastapi import Depends, Query

from libs.common.errors import field_error
from libs.common.validation import BoundedDate
from services.reporting.errors import PeriodInvalid
from services.reporting.reports.periods import PeriodKind, Window, WindowSystem, custom_window, window


class Format(StrEnum):
    JSON = "json"
    CSV = "csv"
    XLSX = "xlsx"
    PDF = "pdf"


class Part(StrEnum):
    NUMERATOR = "numerator"
    DENOMINATOR = "denominator"


def period_window(
    year: Annotated[int | None, Query(ge=2000, le=2100, description="the report's year")] = None,
    quarter: Annotated[int | None, Query(ge=1, le=4)] = None,
    month: Annotated[int | None, Query(ge=1, le=12)] = None,
    half: Annotated[int | None, Query(ge=1, le=2, description="6-month period: 1 or 2")] = None,
    window_system: Annotated[
        WindowSystem,
        Query(alias="window", description="official: Decree 09/2019 cut-off (15th–14th); calendar: calendar periods"),
    ] = WindowSystem.OFFICIAL,
    first_on: Annotated[BoundedDate | None, Query(alias="from", description="custom window: first local date")] = None,
    last_on: Annotated[
        BoundedDate | None, Query(alias="to", description="custom window: last local date (inclusive)")
    ] = None,
) -> Window:
    """The report's window: a named period of ``year`` (quarter, month, half or, by default, the whole year) in the
    official or calendar system, or a custom run of dates ``from``–``to``."""
    if first_on is not None or last_on is not None:
        if first_on is None or last_on is None:
            missing = "from" if first_on is None else "to"
            raise PeriodInvalid(
                "A custom window needs both from and to",
                errors=[field_error((missing,), "required with the other bound")],
            )
        if last_on < first_on:
            raise PeriodInvalid(
                "The window ends before it starts", errors=[field_error(("to",), "must not be before from")]
            )
        return custom_window(first_on, last_on)
    if year is None:
        raise PeriodInvalid(
            "Name a year (with quarter, month or half) or a from/to window",
            errors=[field_error(("year",), "required")],
        )
    named = [
        (k, n)
        for k, n in ((PeriodKind.QUARTER, quarter), (PeriodKind.MONTH, month), (PeriodKind.HALF, half))
        if n is not None
    ]
    if len(named) > 1:
        raise PeriodInvalid(
            "Give at most one of quarter, month and half",
            errors=[field_error((k.value,), "conflicts with another period") for k, _ in named],
        )
    kind, number = named[0] if named else (PeriodKind.YEAR, 1)
    if window_system is WindowSystem.CUSTOM:
        raise PeriodInvalid("window is official or calendar", errors=[field_error(("window",), "invalid")])
    return window(window_system, kind, year, number)


Period = Annotated[Window, Depends(period_window)]
AgencyQ = Annotated[str | None, Query(description="agency code (QCVN 102:2016), e.g. 000.00.00.H56")]
LevelQ = Annotated[str | None, Query(description="administrative level: province, district or commune")]


class Split(StrEnum):
    NONE = "none"
    MONTH = "month"
