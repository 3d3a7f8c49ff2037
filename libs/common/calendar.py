"""The working-day calendar: working days, working hours, due times and pauses (docs/domain.md §Working days,
§Working hours, §Due time, §Pause).

Holidays, their compensation days and the yearly weekend swaps come from the ``holidays`` package
(``holidays.Vietnam``): it knows the Labour Code 2019 Art. 112 holidays, lunar Tết, the next-working-day
compensation of a holiday on a weekend, and the swaps the Government publishes (``weekend_workdays``). The Prime
Minister fixes Tết and the swaps every year and a province may publish them before the library does, so
configuration can add holidays, remove holidays and make weekend days working days, per date.

Every instant passed in must be timezone-aware; legal time is ``Asia/Ho_Chi_Minh`` and every instant returned is
in UTC.

How it stays fast on the hot path: each year's working days are computed once per process from the library
(``_library_year``), the configured overrides are applied once per calendar, and the covered years are laid out as
one array of working-day flags with a running count. Counting working days is then a subtraction, the n-th working
day a bisection, and working time a function ``F`` (working time elapsed since the start of the covered span) and
its inverse. The span grows, a whole year at a time, when a date outside it is asked for.
"""

from __future__ import annotations

import json
import threading
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from typing import Annotated
from zoneinfo import ZoneInfo

from holidays import country_holidays
from holidays.countries.vietnam import Vietnam
from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# The units are the contract's vocabulary (a procedure's time limit travels in its events); re-exported here so the
# calendar's callers need one import.
from libs.common.contract.events import LimitUnit

__all__ = [
    "VN_TZ",
    "AgencyHours",
    "CalendarBook",
    "CalendarSettings",
    "LimitUnit",
    "TimeLimit",
    "WorkingCalendar",
    "WorkingHours",
]

VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")

_US_PER_SECOND = 1_000_000
_US_PER_DAY = 86_400 * _US_PER_SECOND
# Years the library has Vietnamese holidays for. Outside them it returns nothing, and a calendar of weekends only
# would give wrong due times silently, so such dates are refused.
FIRST_YEAR: int = Vietnam.start_year
LAST_YEAR: int = Vietnam.end_year


@dataclass(frozen=True)
class TimeLimit:
    """A procedure's legal time limit. ``SAME_DAY`` ignores ``amount`` (use 0)."""

    amount: int
    unit: LimitUnit

    def __post_init__(self) -> None:
        if self.amount < 0:
            raise ValueError(f"a time limit cannot be negative: {self.amount}")


def _us_of(clock: time) -> int:
    return ((clock.hour * 60 + clock.minute) * 60 + clock.second) * _US_PER_SECOND + clock.microsecond


def _clock_of(us: int) -> time:
    seconds, micro = divmod(us, _US_PER_SECOND)
    minutes, second = divmod(seconds, 60)
    hour, minute = divmod(minutes, 60)
    return time(hour, minute, second, micro)


@dataclass(frozen=True)
class WorkingHours:
    """The daily working sessions of an agency, the same on every working day.

    Sessions are closed intervals: an instant equal to a session's closing time is still inside it (a same-day
    procedure is due *at* closing time).
    """

    # The province default (docs/domain.md §Working hours): 07:00–11:30 and 13:30–17:00, 4.5 h + 3.5 h = 8 h.
    sessions: tuple[tuple[time, time], ...] = ((time(7, 0), time(11, 30)), (time(13, 30), time(17, 0)))

    def __post_init__(self) -> None:
        if not self.sessions:
            raise ValueError("working hours need at least one session")
        previous_close: time | None = None
        for opens, closes in self.sessions:
            if opens.tzinfo is not None or closes.tzinfo is not None:
                raise ValueError("working hours are local clock times, without a time zone")
            if not opens < closes:
                raise ValueError(f"a session must open before it closes: {opens:%H:%M}-{closes:%H:%M}")
            if previous_close is not None and opens < previous_close:
                raise ValueError("sessions must be in order and must not overlap")
            previous_close = closes

    @classmethod
    def parse(cls, text: str) -> WorkingHours:
        """Read ``"07:00-11:30,13:30-17:00"``."""
        sessions: list[tuple[time, time]] = []
        for part in text.split(","):
            if not part.strip():
                continue
            opens, sep, closes = part.partition("-")
            if not sep:
                raise ValueError(f"a session is written HH:MM-HH:MM, got {part.strip()!r}")
            sessions.append((time.fromisoformat(opens.strip()), time.fromisoformat(closes.strip())))
        return cls(tuple(sessions))

    def opening(self) -> time:
        return self.sessions[0][0]

    def closing(self) -> time:
        return self.sessions[-1][1]

    def daily(self) -> timedelta:
        """Working time in one working day (8 h by default)."""
        return sum((_delta(opens, closes) for opens, closes in self.sessions), timedelta())


def _delta(opens: time, closes: time) -> timedelta:
    return timedelta(microseconds=_us_of(closes) - _us_of(opens))


@cache
def _library_year(year: int) -> tuple[bytes, bytes]:
    """The library's view of one year, one byte per day from 1 January.

    First: 1 where ``holidays.Vietnam`` says the day is a working day (weekends, holidays, observed compensation
    days and ``weekend_workdays`` all applied by the library). Second: the same without holidays, i.e. what a day
    becomes when configuration removes its holiday. Shared by every calendar of the process.
    """
    vietnam = country_holidays("VN", years=year)
    first = date(year, 1, 1).toordinal()
    days = [date.fromordinal(first + i) for i in range(date(year + 1, 1, 1).toordinal() - first)]
    working = bytes(vietnam.is_working_day(day) for day in days)
    without_holidays = bytes(not vietnam.is_weekend(day) or day in vietnam.weekend_workdays for day in days)
    return working, without_holidays


@dataclass(frozen=True, slots=True)
class _Span:
    """Working-day flags of the whole years ``first_year..last_year`` and their running count."""

    first_year: int
    last_year: int
    base: int  # ordinal of 1 January of first_year
    working: bytes
    # cumulative[i] = working days in [base, base + i], both ends included
    cumulative: list[int]

    def covers(self, ordinal: int) -> bool:
        return 0 <= ordinal - self.base < len(self.working)

    def index(self, ordinal: int) -> int:
        return ordinal - self.base


def _check_overrides(extra_holidays: set[date], removed_holidays: set[date], extra_working_days: set[date]) -> None:
    for name, clash in (
        ("extra_holidays and removed_holidays", extra_holidays & removed_holidays),
        ("extra_holidays and extra_working_days", extra_holidays & extra_working_days),
    ):
        if clash:
            days = ", ".join(sorted(day.isoformat() for day in clash))
            raise ValueError(f"{name} both list {days}")


def _aware(at: datetime, name: str = "at") -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {at.isoformat()}")
    return at


class WorkingCalendar:
    """Working days and working time of one agency (or one province's configuration).

    Build it once (in the app's lifespan) and share it: it is safe to use from several threads, and it caches
    everything it computes.
    """

    def __init__(
        self,
        *,
        hours: WorkingHours = WorkingHours(),
        extra_holidays: Iterable[date] = (),
        removed_holidays: Iterable[date] = (),
        extra_working_days: Iterable[date] = (),
        years: range | None = None,
    ) -> None:
        """``extra_holidays`` become days off, ``removed_holidays`` lose the library's holiday (a weekday becomes a
        working day; a weekend day stays off), ``extra_working_days`` become working days (a weekend day swapped
        for a day off). A date the library already agrees on is a no-op, so a province's configuration stays valid
        when the library catches up. ``years`` are built up front; others are built when first asked for.
        """
        self.hours = hours
        self._extra_holidays = frozenset(extra_holidays)
        self._removed_holidays = frozenset(removed_holidays)
        self._extra_working_days = frozenset(extra_working_days)
        _check_overrides(set(self._extra_holidays), set(self._removed_holidays), set(self._extra_working_days))
        self._sessions: tuple[tuple[int, int], ...] = tuple(
            (_us_of(opens), _us_of(closes)) for opens, closes in hours.sessions
        )
        self._daily_us = sum(closes - opens for opens, closes in self._sessions)
        self._lock = threading.Lock()
        self._span: _Span | None = None
        if years is not None and len(years):
            self._extend(min(years), max(years))

    @property
    def extra_holidays(self) -> frozenset[date]:
        return self._extra_holidays

    @property
    def removed_holidays(self) -> frozenset[date]:
        return self._removed_holidays

    @property
    def extra_working_days(self) -> frozenset[date]:
        return self._extra_working_days

    @classmethod
    def from_settings(cls, settings: CalendarSettings) -> WorkingCalendar:
        return cls(
            hours=settings.working_hours(),
            extra_holidays=settings.extra_holidays,
            removed_holidays=settings.removed_holidays,
            extra_working_days=settings.extra_working_days,
        )

    # --- the span of covered years -------------------------------------------------------------------------------

    def _year_flags(self, year: int) -> bytes:
        working, without_holidays = _library_year(year)
        flags = bytearray(working)
        first = date(year, 1, 1).toordinal()
        for day in self._removed_holidays:
            if day.year == year:
                flags[day.toordinal() - first] = without_holidays[day.toordinal() - first]
        for day in self._extra_holidays:
            if day.year == year:
                flags[day.toordinal() - first] = 0
        for day in self._extra_working_days:
            if day.year == year:
                flags[day.toordinal() - first] = 1
        return bytes(flags)

    def _extend(self, first_year: int, last_year: int) -> _Span:
        """Make the span cover ``first_year..last_year`` (and what it covered before); return it."""
        with self._lock:
            span = self._span
            if span is not None:
                if span.first_year <= first_year and last_year <= span.last_year:
                    return span
                first_year = min(first_year, span.first_year)
                last_year = max(last_year, span.last_year)
            if first_year < FIRST_YEAR or last_year > LAST_YEAR:
                raise ValueError(
                    f"the holidays library covers Vietnam from {FIRST_YEAR} to {LAST_YEAR}; "
                    f"asked for {first_year}..{last_year}"
                )
            working = b"".join(self._year_flags(year) for year in range(first_year, last_year + 1))
            cumulative: list[int] = []
            count = 0
            for flag in working:
                count += flag
                cumulative.append(count)
            span = _Span(first_year, last_year, date(first_year, 1, 1).toordinal(), working, cumulative)
            # One assignment: readers hold either the old span or the new one, both consistent.
            self._span = span
            return span

    def _span_for(self, *ordinals: int) -> _Span:
        span = self._span
        if span is not None and all(span.covers(ordinal) for ordinal in ordinals):
            return span
        years = [date.fromordinal(ordinal).year for ordinal in ordinals]
        return self._extend(min(years), max(years))

    def _grow(self, span: _Span, *, forward: bool, by_days: int) -> _Span:
        years = by_days // 200 + 1  # a year has ~245 working days, so this always reaches far enough
        if forward and span.last_year < LAST_YEAR:
            return self._extend(span.first_year, min(LAST_YEAR, span.last_year + years))
        if not forward and span.first_year > FIRST_YEAR:
            return self._extend(max(FIRST_YEAR, span.first_year - years), span.last_year)
        raise ValueError(f"the holidays library covers Vietnam from {FIRST_YEAR} to {LAST_YEAR} only")

    # --- working days --------------------------------------------------------------------------------------------

    def is_working_day(self, day: date) -> bool:
        ordinal = day.toordinal()
        span = self._span_for(ordinal)
        return span.working[span.index(ordinal)] == 1

    def next_working_day(self, day: date) -> date:
        """The first working day strictly after ``day``."""
        return self.add_working_days(day, 1)

    def add_working_days(self, day: date, n: int) -> date:
        """The n-th working day after ``day``, ``day`` itself not counted (Civil Code Art. 147).

        ``n == 0`` returns ``day``; a negative ``n`` counts back (the |n|-th working day before ``day``), which is
        how "1 working day before the due time" is found.
        """
        if n == 0:
            return day
        ordinal = day.toordinal()
        span = self._span_for(ordinal)
        while True:
            i = span.index(ordinal)
            if n > 0:
                wanted = span.cumulative[i] + n
                j = bisect_left(span.cumulative, wanted, lo=i + 1)
                if j < len(span.cumulative):
                    return date.fromordinal(span.base + j)
                span = self._grow(span, forward=True, by_days=n)
            else:
                wanted = span.cumulative[i] - span.working[i] + n + 1
                if wanted >= 1:
                    return date.fromordinal(span.base + bisect_left(span.cumulative, wanted, hi=i))
                span = self._grow(span, forward=False, by_days=-n)

    def working_days_between(self, start: date, end: date) -> int:
        """Working days in ``(start, end]``; negative (minus those in ``(end, start]``) when ``end`` is earlier."""
        first, last = start.toordinal(), end.toordinal()
        span = self._span_for(first, last)
        return span.cumulative[span.index(last)] - span.cumulative[span.index(first)]

    # --- working time --------------------------------------------------------------------------------------------

    def _local(self, at: datetime) -> tuple[int, int]:
        """``(ordinal of the local date, microseconds since local midnight)``."""
        local = _aware(at).astimezone(VN_TZ)
        return local.toordinal(), _us_of(local.time())

    @staticmethod
    def _utc(ordinal: int, us: int) -> datetime:
        local = datetime.combine(date.fromordinal(ordinal), _clock_of(us), tzinfo=VN_TZ)
        return local.astimezone(UTC)

    def _worked_in_day(self, us: int) -> int:
        """Working time from midnight to the clock time ``us`` on a working day."""
        return sum(max(0, min(us, closes) - opens) for opens, closes in self._sessions)

    def _elapsed(self, span: _Span, ordinal: int, us: int) -> int:
        """F: working time from the start of ``span`` to the instant, in microseconds."""
        i = span.index(ordinal)
        flag = span.working[i]
        return (span.cumulative[i] - flag) * self._daily_us + (self._worked_in_day(us) if flag else 0)

    def _next_opening(self, ordinal: int, us: int) -> tuple[int, int]:
        """The instant itself if inside working hours, else the next opening of a session on a working day."""
        span = self._span_for(ordinal)
        if span.working[span.index(ordinal)]:
            for opens, closes in self._sessions:
                if us < opens:
                    return ordinal, opens
                if us <= closes:
                    return ordinal, us
        return self.next_working_day(date.fromordinal(ordinal)).toordinal(), self._sessions[0][0]

    def effective_receipt(self, at: datetime) -> datetime:
        """When a receipt starts counting: ``at`` itself during working hours; otherwise the next opening (after
        closing or on a day off: the next working day's opening; before opening: that day's opening; during lunch:
        the afternoon opening)."""
        ordinal, us = self._local(at)
        next_ordinal, next_us = self._next_opening(ordinal, us)
        if (next_ordinal, next_us) == (ordinal, us):
            return at.astimezone(UTC)
        return self._utc(next_ordinal, next_us)

    def due_at(self, received_at: datetime, limit: TimeLimit) -> datetime:
        """The appointment on form 01 (docs/domain.md §Due time), counted from the effective receipt."""
        receipt = self.effective_receipt(received_at)
        ordinal, us = self._local(receipt)
        if limit.unit is LimitUnit.SAME_DAY:
            return self._utc(ordinal, self._sessions[-1][1])
        if limit.unit is LimitUnit.WORKING_HOURS:
            return self.add_working_time(receipt, timedelta(hours=limit.amount))
        due_day = self.add_working_days(date.fromordinal(ordinal), limit.amount).toordinal()
        # The receipt's clock time is inside a session, so this only moves anything under odd configurations;
        # docs/domain.md §Due time still asks for it, and it costs nothing.
        return self._utc(*self._next_opening(due_day, us))

    def working_time_between(self, start: datetime, end: datetime) -> timedelta:
        """Working time inside working sessions on working days between the two instants (negative if ``end`` is
        earlier)."""
        start_ordinal, start_us = self._local(start)
        end_ordinal, end_us = self._local(end)
        span = self._span_for(start_ordinal, end_ordinal)
        worked = self._elapsed(span, end_ordinal, end_us) - self._elapsed(span, start_ordinal, start_us)
        return timedelta(microseconds=worked)

    def add_working_time(self, at: datetime, delta: timedelta) -> datetime:
        """Move forward (or back, for a negative ``delta``) by ``delta`` of working time.

        Forward it returns the earliest instant at which that much working time has passed, so a limit that ends
        with a session ends at its closing time (17:00), not at the next opening. Back it returns the latest
        instant, i.e. an opening rather than the previous closing.
        """
        ordinal, us = self._local(at)
        amount = delta // timedelta(microseconds=1)
        if amount == 0:
            return at.astimezone(UTC)
        daily = self._daily_us
        span = self._span_for(ordinal)
        while True:
            target = self._elapsed(span, ordinal, us) + amount
            if amount > 0:
                # F(t) >= target, earliest t: within the working day that completes day number k + 1
                days, rest = divmod(target, daily)
                if rest == 0:
                    days, rest = days - 1, daily
                j = bisect_left(span.cumulative, days + 1)
                if j < len(span.cumulative):
                    return self._utc(span.base + j, self._clock_forward(rest))
                span = self._grow(span, forward=True, by_days=amount // daily + 1)
            else:
                if target >= 0:
                    days, rest = divmod(target, daily)
                    j = bisect_left(span.cumulative, days + 1)
                    return self._utc(span.base + j, self._clock_backward(rest))
                span = self._grow(span, forward=False, by_days=-amount // daily + 1)

    def _clock_forward(self, worked: int) -> int:
        """Earliest clock time by which ``worked`` (0 < worked <= daily) working time has passed in a day."""
        done = 0
        for opens, closes in self._sessions:
            if worked <= done + closes - opens:
                return opens + worked - done
            done += closes - opens
        raise AssertionError("worked exceeds a working day")  # pragma: no cover

    def _clock_backward(self, worked: int) -> int:
        """Latest clock time at which exactly ``worked`` (0 <= worked < daily) working time has passed in a day."""
        done = 0
        for opens, closes in self._sessions:
            if worked < done + closes - opens:
                return opens + worked - done
            done += closes - opens
        raise AssertionError("worked reaches a whole working day")  # pragma: no cover

    def paused_due_at(self, due_at: datetime, pauses: Iterable[tuple[datetime, datetime]]) -> datetime:
        """The due time moved by the working time of the pauses (docs/domain.md §Pause: waiting for a supplement).

        Overlapping pauses count once; a pause still open is passed with the current time as its end.
        """
        _aware(due_at, "due_at")
        intervals = sorted((_aware(start, "pause start"), _aware(end, "pause end")) for start, end in pauses)
        paused = timedelta()
        current: tuple[datetime, datetime] | None = None
        for start, end in intervals:
            if end < start:
                raise ValueError(f"a pause ends before it starts: {start.isoformat()} > {end.isoformat()}")
            if current is not None and start <= current[1]:
                current = (current[0], max(current[1], end))
                continue
            if current is not None:
                paused += self.working_time_between(*current)
            current = (start, end)
        if current is not None:
            paused += self.working_time_between(*current)
        return self.add_working_time(due_at, paused)


@dataclass(frozen=True)
class AgencyHours:
    """What an agency changes in the province calendar, as the catalogue publishes it (``AgencyPublished``'s
    ``opening_sessions``, ``extra_holidays``, ``extra_working_days``; docs/domain.md §Working hours).

    ``opening_sessions`` (``"07:00-11:30,13:30-17:00"``) replaces the province's sessions; ``None`` keeps them.
    """

    opening_sessions: str | None = None
    extra_holidays: frozenset[date] = frozenset()
    extra_working_days: frozenset[date] = frozenset()

    @classmethod
    def of(
        cls,
        opening_sessions: str | None = None,
        extra_holidays: Iterable[date] | None = None,
        extra_working_days: Iterable[date] | None = None,
    ) -> AgencyHours:
        return cls(opening_sessions or None, frozenset(extra_holidays or ()), frozenset(extra_working_days or ()))

    def is_empty(self) -> bool:
        return self.opening_sessions is None and not self.extra_holidays and not self.extra_working_days


class CalendarBook:
    """The province calendar and one calendar per distinct set of agency overrides, built once and shared.

    An agency's calendar is the province's with the agency's sessions (if it has its own) and its days: the agency's
    extra holidays are off even where the province made them working days, its extra working days are worked even
    where the province gave them off. Calendars are cached by the overrides themselves, not by agency code, so an
    agency whose hours change gets a new calendar on its next look-up and agencies with the same hours share one.
    """

    _MAX_CACHED = 4096  # far more than a province's agencies; a bound only against a runaway caller

    def __init__(self, province: WorkingCalendar) -> None:
        self.province = province
        self._lock = threading.Lock()
        self._calendars: dict[AgencyHours, WorkingCalendar] = {}

    def for_agency(self, hours: AgencyHours | None) -> WorkingCalendar:
        """The calendar of an agency with these overrides (the province's when there are none)."""
        if hours is None or hours.is_empty():
            return self.province
        calendar = self._calendars.get(hours)
        if calendar is not None:
            return calendar
        calendar = self._build(hours)
        with self._lock:
            if len(self._calendars) >= self._MAX_CACHED:
                self._calendars.clear()
            return self._calendars.setdefault(hours, calendar)

    def _build(self, hours: AgencyHours) -> WorkingCalendar:
        clash = hours.extra_holidays & hours.extra_working_days
        if clash:
            days = ", ".join(sorted(day.isoformat() for day in clash))
            raise ValueError(f"an agency's extra_holidays and extra_working_days both list {days}")
        province = self.province
        return WorkingCalendar(
            hours=WorkingHours.parse(hours.opening_sessions) if hours.opening_sessions else province.hours,
            extra_holidays=(province.extra_holidays - hours.extra_working_days) | hours.extra_holidays,
            removed_holidays=province.removed_holidays - hours.extra_holidays,
            extra_working_days=(province.extra_working_days - hours.extra_holidays) | hours.extra_working_days,
        )


DateList = Annotated[list[date], NoDecode]


class CalendarSettings(BaseSettings):
    """A province's calendar configuration, env prefix ``MOTCUA_CALENDAR_``.

    Date lists are read as JSON (``["2026-02-23"]``) or comma-separated (``2026-02-23,2026-02-24``).
    """

    model_config = SettingsConfigDict(env_prefix="MOTCUA_CALENDAR_", extra="ignore", env_file=None)

    extra_holidays: DateList = Field(default_factory=list)
    removed_holidays: DateList = Field(default_factory=list)
    extra_working_days: DateList = Field(default_factory=list)
    opening_sessions: str = "07:00-11:30,13:30-17:00"

    @field_validator("extra_holidays", "removed_holidays", "extra_working_days", mode="before")
    @classmethod
    def _date_list(cls, value: object) -> object:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    @field_validator("opening_sessions")
    @classmethod
    def _sessions(cls, value: str) -> str:
        WorkingHours.parse(value)
        return value

    @model_validator(mode="after")
    def _consistent(self) -> CalendarSettings:
        _check_overrides(set(self.extra_holidays), set(self.removed_holidays), set(self.extra_working_days))
        return self

    def working_hours(self) -> WorkingHours:
        return WorkingHours.parse(self.opening_sessions)
