"""An agency's own working hours (docs/domain.md §Working hours): two or more sessions a day, in order, not
overlapping, inside 05:00–22:00 (earlier or later is a typing error, not an office's day)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, time

from libs.common.calendar import WorkingHours

EARLIEST = time(5, 0)
LATEST = time(22, 0)


def normalise_sessions(text: str) -> str:
    """``" 07:00-11:30 , 13:30-17:00"`` -> ``"07:00-11:30,13:30-17:00"``; ValueError saying what is wrong."""
    hours = WorkingHours.parse(text)
    for opens, closes in hours.sessions:
        if opens < EARLIEST or closes > LATEST:
            raise ValueError(f"session {opens:%H:%M}-{closes:%H:%M} is outside 05:00-22:00")
    return ",".join(f"{opens:%H:%M}-{closes:%H:%M}" for opens, closes in hours.sessions)


def clashing_days(extra_holidays: Iterable[date], extra_working_days: Iterable[date]) -> list[date]:
    """Days listed both as a day off and as a working day."""
    return sorted(set(extra_holidays) & set(extra_working_days))
