"""The working-day calendar (docs/domain.md §Working days, §Due time, §Pause). Every expectation is worked out by
hand in a comment.

Default working hours are the province default, 07:00–11:30 and 13:30–17:00: 4.5 h + 3.5 h = 8 h a working day.
The expectations that depend on the opening time were recomputed by hand when the default moved from 07:30 to 07:00
(docs/domain.md §Working hours); each comment shows the new working.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta

import pytest

from libs.common.calendar import (
    VN_TZ,
    AgencyHours,
    CalendarBook,
    CalendarSettings,
    LimitUnit,
    TimeLimit,
    WorkingCalendar,
    WorkingHours,
)

CALENDAR = WorkingCalendar(years=range(2025, 2028))
DAY = timedelta(hours=8)


def vn(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A local Hà Nội instant."""
    return datetime(year, month, day, hour, minute, tzinfo=VN_TZ)


def days(n: int) -> TimeLimit:
    return TimeLimit(n, LimitUnit.WORKING_DAYS)


def hours(n: int) -> TimeLimit:
    return TimeLimit(n, LimitUnit.WORKING_HOURS)


SAME_DAY = TimeLimit(0, LimitUnit.SAME_DAY)


def assert_utc(at: datetime, expected: datetime) -> None:
    assert at.tzinfo is UTC
    assert at == expected, f"{at.astimezone(VN_TZ):%a %d/%m/%Y %H:%M} != {expected.astimezone(VN_TZ):%a %d/%m/%Y %H:%M}"


class TestLunarNewYear2026:
    def test_the_library_gives_the_governments_tet_break(self) -> None:
        # The Government's break is Sat 14 – Sun 22 Feb 2026. Tết (1st day) is Tue 17 Feb; the library gives the eve
        # (Mon 16) and days 1–4 (Tue 17 – Fri 20): with the two weekends that is exactly 14–22. No swap is needed.
        for day in range(14, 23):
            assert not CALENDAR.is_working_day(date(2026, 2, day)), day
        assert CALENDAR.is_working_day(date(2026, 2, 13))  # Friday before
        assert CALENDAR.is_working_day(date(2026, 2, 23))  # Monday after
        assert CALENDAR.next_working_day(date(2026, 2, 13)) == date(2026, 2, 23)
        # (13 Feb, 23 Feb] holds one working day: the 23rd.
        assert CALENDAR.working_days_between(date(2026, 2, 13), date(2026, 2, 23)) == 1

    def test_a_due_time_across_tet(self) -> None:
        # Received Fri 13 Feb 10:00, 3 working days: Mon 23 (1), Tue 24 (2), Wed 25 (3) -> Wed 25 Feb 10:00 (03:00 UTC).
        due = CALENDAR.due_at(vn(2026, 2, 13, 10, 0), days(3))
        assert_utc(due, datetime(2026, 2, 25, 3, 0, tzinfo=UTC))

    def test_configuration_fixes_a_library_that_lags_the_province(self) -> None:
        # Suppose a province also gives Mon 23 Feb off and makes it up on Sat 28 Feb (a decision the library cannot
        # know). From Fri 13 Feb 10:00, 3 working days: Tue 24 (1), Wed 25 (2), Thu 26 (3) -> Thu 26 Feb 10:00;
        # 5 working days: Fri 27 (4), Sat 28 (5) -> Sat 28 Feb 10:00.
        province = WorkingCalendar(extra_holidays=[date(2026, 2, 23)], extra_working_days=[date(2026, 2, 28)])
        assert not province.is_working_day(date(2026, 2, 23))
        assert province.is_working_day(date(2026, 2, 28))
        assert_utc(province.due_at(vn(2026, 2, 13, 10, 0), days(3)), vn(2026, 2, 26, 10, 0))
        assert_utc(province.due_at(vn(2026, 2, 13, 10, 0), days(5)), vn(2026, 2, 28, 10, 0))
        # The shared calendar is untouched: Sat 28 Feb stays a rest day there.
        assert not CALENDAR.is_working_day(date(2026, 2, 28))

    def test_the_same_fix_from_the_environment(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("MOTCUA_CALENDAR_EXTRA_HOLIDAYS", "2026-02-23")
        monkeypatch.setenv("MOTCUA_CALENDAR_EXTRA_WORKING_DAYS", '["2026-02-28"]')
        settings = CalendarSettings()
        assert settings.extra_holidays == [date(2026, 2, 23)]
        assert settings.extra_working_days == [date(2026, 2, 28)]
        province = WorkingCalendar.from_settings(settings)
        # As above: 24 (1), 25 (2), 26 (3).
        assert_utc(province.due_at(vn(2026, 2, 13, 10, 0), days(3)), vn(2026, 2, 26, 10, 0))


class TestSwapsAndCompensation:
    def test_a_weekend_day_made_a_working_day(self) -> None:
        # 2026 National Day: Tue 1 and Wed 2 Sep; Mon 31 Aug is off, swapped with Sat 22 Aug (library's
        # weekend_workdays).
        assert CALENDAR.is_working_day(date(2026, 8, 22))
        assert not CALENDAR.is_working_day(date(2026, 8, 23))  # the Sunday is still a rest day
        for day in (date(2026, 8, 31), date(2026, 9, 1), date(2026, 9, 2)):
            assert not CALENDAR.is_working_day(day)
        # Received Fri 21 Aug 09:00, 1 working day: Sat 22 Aug -> Sat 22 Aug 09:00.
        assert_utc(CALENDAR.due_at(vn(2026, 8, 21, 9, 0), days(1)), vn(2026, 8, 22, 9, 0))
        # Received Fri 28 Aug 09:00, 2 working days: 29–30 weekend, 31 Aug–2 Sep off, Thu 3 (1), Fri 4 (2).
        assert_utc(CALENDAR.due_at(vn(2026, 8, 28, 9, 0), days(2)), vn(2026, 9, 4, 9, 0))

    def test_the_2025_swap(self) -> None:
        # 2025: Fri 2 May off, swapped with Sat 26 Apr.
        assert CALENDAR.is_working_day(date(2025, 4, 26))
        assert not CALENDAR.is_working_day(date(2025, 5, 2))

    def test_a_holiday_on_a_weekend_is_compensated_on_the_next_working_day(self) -> None:
        # Hùng Kings 2026 (10/3 lunar) is Sun 26 Apr: compensated Mon 27 Apr. Then Thu 30 Apr and Fri 1 May.
        assert not CALENDAR.is_working_day(date(2026, 4, 27))
        # Received Fri 24 Apr 14:00, 2 working days: Mon 27 off, Tue 28 (1), Wed 29 (2) -> Wed 29 Apr 14:00.
        assert_utc(CALENDAR.due_at(vn(2026, 4, 24, 14, 0), days(2)), vn(2026, 4, 29, 14, 0))
        # 3 working days: Thu 30, Fri 1 off, Sat 2, Sun 3 weekend, Mon 4 May (3).
        assert_utc(CALENDAR.due_at(vn(2026, 4, 24, 14, 0), days(3)), vn(2026, 5, 4, 14, 0))
        # Labour Day 2027 is Sat 1 May: compensated Mon 3 May.
        assert not CALENDAR.is_working_day(date(2027, 5, 3))
        assert CALENDAR.next_working_day(date(2027, 4, 30)) == date(2027, 5, 4)

    def test_removing_a_holiday_and_cancelling_a_swap(self) -> None:
        # A province that does not (yet) observe Vietnam Cultural Day (Tue 24 Nov 2026 in the library) works that
        # day; one that keeps Sat 22 Aug 2026 as a rest day lists it as a holiday.
        province = WorkingCalendar(removed_holidays=[date(2026, 11, 24)], extra_holidays=[date(2026, 8, 22)])
        assert not CALENDAR.is_working_day(date(2026, 11, 24))
        assert province.is_working_day(date(2026, 11, 24))
        assert not province.is_working_day(date(2026, 8, 22))
        # Removing a holiday that falls on a Sunday leaves a Sunday: Hùng Kings, Sun 26 Apr 2026.
        assert not WorkingCalendar(removed_holidays=[date(2026, 4, 26)]).is_working_day(date(2026, 4, 26))

    def test_across_new_year(self) -> None:
        # Received Wed 30 Dec 2026 10:00, 5 working days: Thu 31 (1), Fri 1 Jan 2027 off, Mon 4 (2), Tue 5 (3),
        # Wed 6 (4), Thu 7 (5) -> Thu 7 Jan 2027 10:00. The calendar below has built no year yet.
        fresh = WorkingCalendar()
        assert_utc(fresh.due_at(vn(2026, 12, 30, 10, 0), days(5)), vn(2027, 1, 7, 10, 0))


class TestWorkingDays:
    def test_counting(self) -> None:
        # Mon 2 Mar 2026: next working day Tue 3; from Fri 6, next is Mon 9.
        assert CALENDAR.next_working_day(date(2026, 3, 2)) == date(2026, 3, 3)
        assert CALENDAR.next_working_day(date(2026, 3, 6)) == date(2026, 3, 9)
        # From a Saturday (7 Mar): Mon 9 (1), Tue 10 (2).
        assert CALENDAR.add_working_days(date(2026, 3, 7), 2) == date(2026, 3, 10)
        assert CALENDAR.add_working_days(date(2026, 3, 7), 0) == date(2026, 3, 7)
        # Back: 1 working day before Mon 23 Feb 2026 is Fri 13 Feb (Tết in between).
        assert CALENDAR.add_working_days(date(2026, 2, 23), -1) == date(2026, 2, 13)
        # 2 before Sat 7 Mar: Fri 6 (1), Thu 5 (2).
        assert CALENDAR.add_working_days(date(2026, 3, 7), -2) == date(2026, 3, 5)
        # (Sun 1 Mar, Sun 8 Mar]: Mon–Fri = 5; reversed, -5.
        assert CALENDAR.working_days_between(date(2026, 3, 1), date(2026, 3, 8)) == 5
        assert CALENDAR.working_days_between(date(2026, 3, 8), date(2026, 3, 1)) == -5
        assert CALENDAR.working_days_between(date(2026, 3, 2), date(2026, 3, 2)) == 0

    def test_years_outside_the_library_are_refused(self) -> None:
        with pytest.raises(ValueError, match="covers Vietnam"):
            CALENDAR.is_working_day(date(2101, 1, 3))


class TestReceipt:
    def test_same_day_procedure(self) -> None:
        # Received Tue 3 Mar 2026 09:15: due at closing time, 17:00 (10:00 UTC).
        assert_utc(CALENDAR.due_at(vn(2026, 3, 3, 9, 15), SAME_DAY), datetime(2026, 3, 3, 10, 0, tzinfo=UTC))
        # Received after closing (17:30): counts as Wed 4 Mar 07:00, due Wed 4 Mar 17:00.
        assert_utc(CALENDAR.due_at(vn(2026, 3, 3, 17, 30), SAME_DAY), vn(2026, 3, 4, 17, 0))

    def test_receipt_after_closing_time(self) -> None:
        # Recomputed for the 07:00 opening: Fri 6 Mar 2026 17:05 -> Mon 9 Mar 07:00; 2 working days: Tue 10 (1),
        # Wed 11 (2) -> Wed 11 Mar 07:00.
        assert_utc(CALENDAR.effective_receipt(vn(2026, 3, 6, 17, 5)), vn(2026, 3, 9, 7, 0))
        assert_utc(CALENDAR.due_at(vn(2026, 3, 6, 17, 5), days(2)), vn(2026, 3, 11, 7, 0))
        # Exactly at closing is not after closing.
        assert_utc(CALENDAR.effective_receipt(vn(2026, 3, 6, 17, 0)), vn(2026, 3, 6, 17, 0))

    def test_receipt_before_opening_and_on_a_day_off(self) -> None:
        # Recomputed for the 07:00 opening: Mon 9 Mar 06:00 -> Mon 9 Mar 07:00. Sun 8 Mar 10:00 -> Mon 9 Mar 07:00.
        assert_utc(CALENDAR.effective_receipt(vn(2026, 3, 9, 6, 0)), vn(2026, 3, 9, 7, 0))
        assert_utc(CALENDAR.effective_receipt(vn(2026, 3, 8, 10, 0)), vn(2026, 3, 9, 7, 0))
        # 06:59 is still before opening; 07:00 sharp is inside the morning session.
        assert_utc(CALENDAR.effective_receipt(vn(2026, 3, 9, 6, 59)), vn(2026, 3, 9, 7, 0))
        assert_utc(CALENDAR.effective_receipt(vn(2026, 3, 9, 7, 0)), vn(2026, 3, 9, 7, 0))
        # On the eve of Tết (Mon 16 Feb 2026, a holiday) -> Mon 23 Feb 07:00.
        assert_utc(CALENDAR.effective_receipt(vn(2026, 2, 16, 9, 0)), vn(2026, 2, 23, 7, 0))

    def test_receipt_during_lunch(self) -> None:
        # Tue 3 Mar 12:10 -> 13:30; 1 working day -> Wed 4 Mar 13:30.
        assert_utc(CALENDAR.effective_receipt(vn(2026, 3, 3, 12, 10)), vn(2026, 3, 3, 13, 30))
        assert_utc(CALENDAR.due_at(vn(2026, 3, 3, 12, 10), days(1)), vn(2026, 3, 4, 13, 30))
        # 11:30 sharp still belongs to the morning.
        assert_utc(CALENDAR.effective_receipt(vn(2026, 3, 3, 11, 30)), vn(2026, 3, 3, 11, 30))

    def test_a_receipt_inside_working_hours_is_kept_and_any_offset_is_accepted(self) -> None:
        # 02:00 UTC is 09:00 in Hà Nội, inside the morning session; 3 working days from Mon 2 Mar -> Thu 5 Mar 09:00.
        received = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
        assert CALENDAR.effective_receipt(received) == received
        assert_utc(CALENDAR.due_at(received, days(3)), datetime(2026, 3, 5, 2, 0, tzinfo=UTC))
        # Effective receipt is idempotent: intake passes its result back into due_at.
        effective = CALENDAR.effective_receipt(vn(2026, 3, 6, 18, 0))
        assert CALENDAR.effective_receipt(effective) == effective


class TestWorkingTime:
    def test_a_working_hours_limit_spanning_a_night(self) -> None:
        # Recomputed for the 07:00 opening: Tue 3 Mar 15:00 + 4 h: 2 h to 17:00, 2 h from Wed 07:00 -> Wed 4 Mar 09:00.
        assert_utc(CALENDAR.due_at(vn(2026, 3, 3, 15, 0), hours(4)), vn(2026, 3, 4, 9, 0))
        # Recomputed: Fri 6 Mar 16:00 + 8 h: 1 h on Friday; Mon 9 Mar morning 07:00–11:30 4.5 h (5.5 h); 2.5 h from
        # 13:30 -> Mon 16:00.
        assert_utc(CALENDAR.due_at(vn(2026, 3, 6, 16, 0), hours(8)), vn(2026, 3, 9, 16, 0))
        # Received in the lunch break, 12:00 + 1 h -> 13:30 + 1 h = 14:30.
        assert_utc(CALENDAR.due_at(vn(2026, 3, 3, 12, 0), hours(1)), vn(2026, 3, 3, 14, 30))

    def test_a_limit_that_ends_with_a_session_ends_at_its_closing(self) -> None:
        # 14:00 + 3 h ends exactly at 17:00, not at the next opening. 07:30 + 4 h ends at 11:30 (the morning closing).
        assert_utc(CALENDAR.due_at(vn(2026, 3, 3, 14, 0), hours(3)), vn(2026, 3, 3, 17, 0))
        assert_utc(CALENDAR.due_at(vn(2026, 3, 3, 7, 30), hours(4)), vn(2026, 3, 3, 11, 30))

    def test_working_time_between(self) -> None:
        # Recomputed for the 8-hour day: Thu 12 Feb 2026 15:00 -> Tue 24 Feb 09:00: 2 h (Thu) + 8 h (Fri 13) + Tết
        # 14–22 nothing + 8 h (Mon 23) + 2 h (Tue 07:00–09:00) = 20 h.
        between = CALENDAR.working_time_between(vn(2026, 2, 12, 15, 0), vn(2026, 2, 24, 9, 0))
        assert between == timedelta(hours=20)
        assert CALENDAR.working_time_between(vn(2026, 2, 24, 9, 0), vn(2026, 2, 12, 15, 0)) == -between
        # Inside the lunch break and on a Sunday no working time passes.
        assert CALENDAR.working_time_between(vn(2026, 3, 3, 11, 40), vn(2026, 3, 3, 13, 20)) == timedelta(0)
        assert CALENDAR.working_time_between(vn(2026, 3, 8, 8, 0), vn(2026, 3, 8, 16, 0)) == timedelta(0)

    def test_moving_back(self) -> None:
        # Tue 3 Mar 08:30 - 1 h -> 07:30 the same day. Recomputed for the 07:00 opening: 07:30 - 1 h = 0.5 h back to
        # 07:00, 0.5 h back from Mon 2 Mar 17:00 -> Mon 16:30. 13:30 - 2 h -> 09:30.
        assert_utc(CALENDAR.add_working_time(vn(2026, 3, 3, 8, 30), -timedelta(hours=1)), vn(2026, 3, 3, 7, 30))
        assert_utc(CALENDAR.add_working_time(vn(2026, 3, 3, 7, 30), -timedelta(hours=1)), vn(2026, 3, 2, 16, 30))
        assert_utc(CALENDAR.add_working_time(vn(2026, 3, 3, 13, 30), -timedelta(hours=2)), vn(2026, 3, 3, 9, 30))
        # Moving by nothing keeps the instant, even outside working hours.
        assert_utc(CALENDAR.add_working_time(vn(2026, 3, 8, 10, 0), timedelta(0)), vn(2026, 3, 8, 10, 0))


class TestPause:
    def test_a_pause_spanning_tet(self) -> None:
        # Received Tue 10 Feb 2026 10:00, 10 working days: Wed 11, Thu 12, Fri 13, (Tết) Mon 23, Tue 24, Wed 25,
        # Thu 26, Fri 27, Mon 2 Mar, Tue 3 Mar -> Tue 3 Mar 10:00.
        due = CALENDAR.due_at(vn(2026, 2, 10, 10, 0), days(10))
        assert_utc(due, vn(2026, 3, 3, 10, 0))
        # Recomputed for the 8-hour day: paused Thu 12 Feb 15:00 -> Tue 24 Feb 09:00: 20 h of working time (see
        # test_working_time_between). Tue 3 Mar from 10:00: 1.5 h + 3.5 h = 5 h (15 h left); Wed 4: 8 h (7 h left);
        # Thu 5: 07:00–11:30 4.5 h (2.5 h left), 13:30 + 2.5 h -> Thu 5 Mar 16:00.
        pause = (vn(2026, 2, 12, 15, 0), vn(2026, 2, 24, 9, 0))
        assert_utc(CALENDAR.paused_due_at(due, [pause]), vn(2026, 3, 5, 16, 0))

    def test_overlapping_pauses_count_once_and_a_pause_on_days_off_moves_nothing(self) -> None:
        due = vn(2026, 3, 3, 10, 0)
        # Two overlapping pauses on Wed 25 Feb, 08:00–10:00 and 09:00–11:00: together 08:00–11:00 = 3 h.
        # Tue 3 Mar 10:00 + 3 h: 1.5 h to 11:30, 1.5 h from 13:30 -> 15:00.
        overlapping = [(vn(2026, 2, 25, 9, 0), vn(2026, 2, 25, 11, 0)), (vn(2026, 2, 25, 8, 0), vn(2026, 2, 25, 10, 0))]
        assert_utc(CALENDAR.paused_due_at(due, overlapping), vn(2026, 3, 3, 15, 0))
        # Paused from Sat 14 Feb to Sun 22 Feb (all of it Tết): no working time, the due time stays.
        assert_utc(CALENDAR.paused_due_at(due, [(vn(2026, 2, 14, 9, 0), vn(2026, 2, 22, 18, 0))]), due)
        assert_utc(CALENDAR.paused_due_at(due, []), due)

    def test_a_pause_that_ends_before_it_starts_is_refused(self) -> None:
        with pytest.raises(ValueError, match="ends before it starts"):
            CALENDAR.paused_due_at(vn(2026, 3, 3, 10, 0), [(vn(2026, 2, 25, 9, 0), vn(2026, 2, 25, 8, 0))])


class TestNaiveDatetimes:
    def test_every_entry_point_refuses_a_naive_datetime(self) -> None:
        naive = datetime(2026, 3, 2, 9, 0)
        aware = vn(2026, 3, 2, 9, 0)
        calls: list[Callable[[], object]] = [
            lambda: CALENDAR.effective_receipt(naive),
            lambda: CALENDAR.due_at(naive, days(3)),
            lambda: CALENDAR.working_time_between(naive, aware),
            lambda: CALENDAR.working_time_between(aware, naive),
            lambda: CALENDAR.add_working_time(naive, timedelta(hours=1)),
            lambda: CALENDAR.paused_due_at(naive, []),
            lambda: CALENDAR.paused_due_at(aware, [(naive, aware)]),
        ]
        for call in calls:
            with pytest.raises(ValueError, match="timezone-aware"):
                call()


class TestConfiguration:
    def test_working_hours(self) -> None:
        default = WorkingHours()
        # The province default: 07:00–11:30 (4.5 h) and 13:30–17:00 (3.5 h) = 8 h, one working day.
        assert (default.opening(), default.closing()) == (time(7, 0), time(17, 0))
        assert default.daily() == DAY == timedelta(hours=8)
        assert WorkingHours.parse("07:00-11:30, 13:30-17:00") == default
        assert CalendarSettings().working_hours() == default
        with pytest.raises(ValueError):
            WorkingHours.parse("13:30-17:00,07:30-11:30")  # out of order
        with pytest.raises(ValueError):
            WorkingHours.parse("17:00-13:30")
        with pytest.raises(ValueError):
            WorkingHours(())

    def test_an_agency_with_other_hours(self) -> None:
        # 08:00–12:00 and 13:00–17:00 (8 h). Received Tue 3 Mar 2026 12:30 -> 13:00; + 8 h: 4 h to 17:00, Wed 4 Mar
        # 4 h from 08:00 -> 12:00 (closing of the morning, not the 13:00 opening).
        settings = CalendarSettings(opening_sessions="08:00-12:00,13:00-17:00")
        agency = WorkingCalendar.from_settings(settings)
        assert agency.hours.daily() == timedelta(hours=8)
        assert_utc(agency.due_at(vn(2026, 3, 3, 12, 30), hours(8)), vn(2026, 3, 4, 12, 0))
        assert_utc(agency.due_at(vn(2026, 3, 3, 12, 30), SAME_DAY), vn(2026, 3, 3, 17, 0))

    def test_invalid_configuration_is_refused(self) -> None:
        with pytest.raises(ValueError):
            CalendarSettings(opening_sessions="7h30-11h30")
        with pytest.raises(ValueError, match="both list"):
            CalendarSettings(extra_holidays=[date(2026, 2, 23)], extra_working_days=[date(2026, 2, 23)])
        with pytest.raises(ValueError, match="both list"):
            WorkingCalendar(extra_holidays=[date(2026, 2, 23)], removed_holidays=[date(2026, 2, 23)])
        with pytest.raises(ValueError):
            TimeLimit(-1, LimitUnit.WORKING_DAYS)


class TestCalendarBook:
    """Per-agency calendars (docs/domain.md §Working hours: configurable per agency)."""

    def test_an_agency_without_overrides_uses_the_province_calendar(self) -> None:
        book = CalendarBook(CALENDAR)
        assert book.for_agency(None) is CALENDAR
        assert book.for_agency(AgencyHours.of("", [], None)) is CALENDAR

    def test_an_agency_with_its_own_sessions(self) -> None:
        # An agency that keeps 07:30–11:30 and 13:30–17:00 (7.5 h): Fri 6 Mar 2026 17:05 counts from Mon 9 Mar 07:30,
        # where the province's 07:00 opening would give 07:00. Mon 9 Mar 10:00 + 4 h there: 1.5 h to 11:30, 2.5 h
        # from 13:30 -> 16:00 (the same at the province: its extra half hour is before 10:00).
        book = CalendarBook(CALENDAR)
        agency = book.for_agency(AgencyHours.of("07:30-11:30,13:30-17:00"))
        assert agency.hours.daily() == timedelta(hours=7, minutes=30)
        assert_utc(agency.effective_receipt(vn(2026, 3, 6, 17, 5)), vn(2026, 3, 9, 7, 30))
        assert_utc(book.province.effective_receipt(vn(2026, 3, 6, 17, 5)), vn(2026, 3, 9, 7, 0))
        assert_utc(agency.due_at(vn(2026, 3, 9, 10, 0), hours(4)), vn(2026, 3, 9, 16, 0))

    def test_an_agency_day_off_and_an_agency_working_saturday(self) -> None:
        # Received Fri 6 Mar 2026 10:00, 2 working days. Province: Mon 9 (1), Tue 10 (2) -> Tue 10 Mar 10:00.
        # An agency off on Mon 9 Mar: Tue 10 (1), Wed 11 (2) -> Wed 11 Mar 10:00. An agency working Sat 7 Mar:
        # Sat 7 (1), Mon 9 (2) -> Mon 9 Mar 10:00.
        book = CalendarBook(CALENDAR)
        off = book.for_agency(AgencyHours.of(extra_holidays=[date(2026, 3, 9)]))
        saturday = book.for_agency(AgencyHours.of(extra_working_days=[date(2026, 3, 7)]))
        assert_utc(CALENDAR.due_at(vn(2026, 3, 6, 10, 0), days(2)), vn(2026, 3, 10, 10, 0))
        assert_utc(off.due_at(vn(2026, 3, 6, 10, 0), days(2)), vn(2026, 3, 11, 10, 0))
        assert_utc(saturday.due_at(vn(2026, 3, 6, 10, 0), days(2)), vn(2026, 3, 9, 10, 0))

    def test_the_agency_wins_over_the_province_and_keeps_the_province_days_it_does_not_touch(self) -> None:
        # The province gives Mon 23 Feb 2026 off and works Sat 28 Feb; an agency works Mon 23 Feb and is off Sat 28.
        # From Fri 13 Feb 10:00, 3 working days at the agency: Mon 23 (1), Tue 24 (2), Wed 25 (3) -> Wed 25 Feb 10:00.
        province = WorkingCalendar(extra_holidays=[date(2026, 2, 23)], extra_working_days=[date(2026, 2, 28)])
        agency = CalendarBook(province).for_agency(
            AgencyHours.of(extra_holidays=[date(2026, 2, 28)], extra_working_days=[date(2026, 2, 23)])
        )
        assert agency.is_working_day(date(2026, 2, 23)) and not agency.is_working_day(date(2026, 2, 28))
        assert_utc(agency.due_at(vn(2026, 2, 13, 10, 0), days(3)), vn(2026, 2, 25, 10, 0))
        # An agency that only changes its hours still has the province's Mon 23 Feb off.
        hours_only = CalendarBook(province).for_agency(AgencyHours.of("07:30-11:30,13:30-17:00"))
        assert not hours_only.is_working_day(date(2026, 2, 23))

    def test_calendars_are_cached_by_their_overrides(self) -> None:
        book = CalendarBook(CALENDAR)
        first = book.for_agency(AgencyHours.of("08:00-12:00,13:00-17:00", [date(2026, 3, 9)]))
        assert book.for_agency(AgencyHours.of("08:00-12:00,13:00-17:00", [date(2026, 3, 9)])) is first
        assert book.for_agency(AgencyHours.of("08:00-12:00,13:00-17:00")) is not first

    def test_a_day_both_off_and_worked_is_refused(self) -> None:
        with pytest.raises(ValueError, match="both list 2026-03-09"):
            CalendarBook(CALENDAR).for_agency(AgencyHours.of(None, [date(2026, 3, 9)], [date(2026, 3, 9)]))


def _receipts() -> list[datetime]:
    # Every 47 minutes from 1 Jan to 31 Mar 2026 (New Year, Tết, lunch breaks, nights, weekends), in UTC so that
    # the local clock time wanders over the whole day.
    start = datetime(2026, 1, 1, tzinfo=UTC)
    return [start + timedelta(minutes=47 * i) for i in range(int(90 * 24 * 60 / 47))]


def _inside_working_hours(calendar: WorkingCalendar, at: datetime) -> bool:
    local = at.astimezone(VN_TZ)
    clock = local.time()
    return calendar.is_working_day(local.date()) and any(o <= clock <= c for o, c in calendar.hours.sessions)


def test_property_due_times_are_inside_working_hours_and_last_n_working_days() -> None:
    # For any receipt: the due time of N working days is inside working hours on a working day, at the effective
    # receipt's clock time, N working days after its date, and N × 8 h of working time after the receipt
    # (whatever the receipt time: outside working hours no working time passes before the effective receipt).
    receipts = _receipts()
    assert len(receipts) > 2700
    for received in receipts:
        effective = CALENDAR.effective_receipt(received)
        assert _inside_working_hours(CALENDAR, effective)
        assert CALENDAR.working_time_between(received, effective) == timedelta(0)
        for n in (1, 3, 7, 15):
            due = CALENDAR.due_at(received, days(n))
            assert _inside_working_hours(CALENDAR, due), (received, n)
            assert due.astimezone(VN_TZ).time() == effective.astimezone(VN_TZ).time()
            assert CALENDAR.working_days_between(effective.astimezone(VN_TZ).date(), due.astimezone(VN_TZ).date()) == n
            assert CALENDAR.working_time_between(received, due) == n * DAY, (received, n)
        for h in (1, 4, 8, 40):
            due = CALENDAR.due_at(received, hours(h))
            assert _inside_working_hours(CALENDAR, due), (received, h)
            assert CALENDAR.working_time_between(received, due) == timedelta(hours=h), (received, h)
        same_day = CALENDAR.due_at(received, SAME_DAY)
        assert same_day.astimezone(VN_TZ).date() == effective.astimezone(VN_TZ).date()
        assert same_day.astimezone(VN_TZ).time() == time(17, 0)


def test_property_moving_by_working_time_round_trips() -> None:
    # add_working_time forward by d then working_time_between gives back d; moving back by d from there lands
    # where we started when that was inside working hours.
    for start in _receipts()[::5]:
        for delta in (timedelta(minutes=20), timedelta(hours=3), DAY, timedelta(hours=31)):
            moved = CALENDAR.add_working_time(start, delta)
            assert CALENDAR.working_time_between(start, moved) == delta
            back = CALENDAR.add_working_time(moved, -delta)
            assert CALENDAR.working_time_between(back, moved) == delta
            closing = start.astimezone(VN_TZ).time() in (time(11, 30), time(17, 0))
            if _inside_working_hours(CALENDAR, start) and not closing:
                assert back == start
