"""Intake's use of the working-day calendar: receipt -> appointment, pause -> new due time, apology window, outcome.

The calendar is the library's default (holidays.Vietnam, 07:00–11:30 and 13:30–17:00; the expectations that depend on
the opening were recomputed by hand when it moved from 07:30 to 07:00). Every expectation is worked out
by hand in the comment above it; W = working day counted.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from libs.common.calendar import VN_TZ, LimitUnit, TimeLimit, WorkingCalendar, WorkingHours
from libs.common.contract.timeliness import Outcome, judge_outcome
from services.intake.domain.deadlines import (
    apology_in_time,
    appointment,
    resume,
    supplement_window_ends_at,
    transfer_timing,
)


@pytest.fixture(scope="module")
def calendar() -> WorkingCalendar:
    return WorkingCalendar()


@pytest.fixture(scope="module")
def province() -> WorkingCalendar:
    """The province default of docs/domain.md, "Working hours", stated here so these tests do not follow a change of
    the library's default."""
    return WorkingCalendar(hours=WorkingHours.parse("07:00-11:30,13:30-17:00"))


def vn(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=VN_TZ)


def days(n: int) -> TimeLimit:
    return TimeLimit(n, LimitUnit.WORKING_DAYS)


class TestAppointment:
    def test_plain_week(self, calendar: WorkingCalendar) -> None:
        # Mon 2 Mar 2026 09:00, 3 days: Tue 3 (W1), Wed 4 (W2), Thu 5 (W3) -> Thu 5 Mar 09:00.
        due = appointment(calendar, vn(2026, 3, 2, 9, 0), days(3)).due_at
        assert due == vn(2026, 3, 5, 9, 0)

    def test_across_tet(self, calendar: WorkingCalendar) -> None:
        # Thu 12 Feb 2026 10:00, 3 days. Tết 2026: Mon 16 – Fri 20 Feb off, weekends 14–15 and 21–22 off.
        # Fri 13 (W1), Mon 23 (W2), Tue 24 (W3) -> Tue 24 Feb 10:00.
        due = appointment(calendar, vn(2026, 2, 12, 10, 0), days(3)).due_at
        assert due == vn(2026, 2, 24, 10, 0)

    def test_received_on_the_eve_of_tet_after_closing(self, calendar: WorkingCalendar) -> None:
        # Fri 13 Feb 2026 17:30 is after closing: counts from the next opening, Mon 23 Feb 07:00 (receipt day).
        # 1 day: Tue 24 (W1) -> Tue 24 Feb 07:00.
        result = appointment(calendar, vn(2026, 2, 13, 17, 30), days(1))
        assert result.received_at == vn(2026, 2, 23, 7, 0)
        assert result.due_at == vn(2026, 2, 24, 7, 0)

    def test_a_weekend_day_made_a_working_day(self, calendar: WorkingCalendar) -> None:
        # 2026 swap: Sat 22 Aug is a working day, Mon 31 Aug a day off (then National Day Tue 1 + Wed 2 Sep).
        # Fri 21 Aug 09:00, 1 day: Sat 22 (W1) -> Sat 22 Aug 09:00.
        assert appointment(calendar, vn(2026, 8, 21, 9, 0), days(1)).due_at == vn(2026, 8, 22, 9, 0)
        # Fri 28 Aug 14:00, 2 days: Mon 31 (swapped off), Tue 1 and Wed 2 Sep (National Day) -> Thu 3 (W1),
        # Fri 4 (W2) -> Fri 4 Sep 14:00.
        assert appointment(calendar, vn(2026, 8, 28, 14, 0), days(2)).due_at == vn(2026, 9, 4, 14, 0)

    def test_a_dossier_received_on_the_swapped_saturday_counts_from_it(self, calendar: WorkingCalendar) -> None:
        # Sat 22 Aug 2026 10:00 is a working day: received then. 1 day: Sun 23 off, Mon 24 (W1) -> Mon 24 Aug 10:00.
        result = appointment(calendar, vn(2026, 8, 22, 10, 0), days(1))
        assert result.received_at == vn(2026, 8, 22, 10, 0)
        assert result.due_at == vn(2026, 8, 24, 10, 0)

    def test_a_holiday_on_a_weekend_is_compensated(self, calendar: WorkingCalendar) -> None:
        # Hùng Kings 2026 falls on Sun 26 Apr: compensated Mon 27 Apr. Then Thu 30 Apr and Fri 1 May off.
        # Fri 24 Apr 09:00, 2 days: Mon 27 (off), Tue 28 (W1), Wed 29 (W2) -> Wed 29 Apr 09:00.
        assert appointment(calendar, vn(2026, 4, 24, 9, 0), days(2)).due_at == vn(2026, 4, 29, 9, 0)
        # 4 days: Tue 28 (W1), Wed 29 (W2), Thu 30 / Fri 1 / weekend off, Mon 4 May (W3), Tue 5 (W4) -> Tue 5 May.
        assert appointment(calendar, vn(2026, 4, 24, 9, 0), days(4)).due_at == vn(2026, 5, 5, 9, 0)

    def test_same_day_procedure(self, calendar: WorkingCalendar) -> None:
        same_day = TimeLimit(0, LimitUnit.SAME_DAY)
        # Mon 2 Mar 2026 09:00: due at closing time the same day, 17:00.
        assert appointment(calendar, vn(2026, 3, 2, 9, 0), same_day).due_at == vn(2026, 3, 2, 17, 0)
        # Received 17:30, after closing: the receipt counts Tue 3 Mar 07:00, due Tue 3 Mar 17:00.
        late = appointment(calendar, vn(2026, 3, 2, 17, 30), same_day)
        assert late.received_at == vn(2026, 3, 3, 7, 0)
        assert late.due_at == vn(2026, 3, 3, 17, 0)
        # Received on Saturday 7 Mar: counts Mon 9 Mar, due Mon 9 Mar 17:00.
        assert appointment(calendar, vn(2026, 3, 7, 10, 0), same_day).due_at == vn(2026, 3, 9, 17, 0)

    def test_working_hours_limit(self, calendar: WorkingCalendar) -> None:
        # Mon 2 Mar 10:00 + 4 working hours: 10:00–11:30 (1.5 h), 13:30–16:00 (2.5 h) -> 16:00.
        hours = TimeLimit(4, LimitUnit.WORKING_HOURS)
        assert appointment(calendar, vn(2026, 3, 2, 10, 0), hours).due_at == vn(2026, 3, 2, 16, 0)


class TestPause:
    def test_a_pause_spanning_holidays_moves_the_due_time_by_working_time_only(self, calendar: WorkingCalendar) -> None:
        # Received Wed 29 Apr 2026 10:00, 3 days: Thu 30 Apr and Fri 1 May off, weekend off, Mon 4 May (W1),
        # Tue 5 (W2), Wed 6 (W3) -> due Wed 6 May 10:00.
        due = appointment(calendar, vn(2026, 4, 29, 10, 0), days(3)).due_at
        assert due == vn(2026, 5, 6, 10, 0)
        # Supplement requested Wed 29 Apr 15:00, received Mon 4 May 09:30. Paused working time: Wed 15:00–17:00
        # (2 h) + holidays and weekend (0) + Mon 07:00–09:30 (2.5 h) = 4.5 h.
        # Due Wed 6 May 10:00 + 4.5 working hours: 10:00–11:30 (1.5 h), 13:30–16:30 (3 h) -> Wed 6 May 16:30.
        resumed = resume(calendar, due, vn(2026, 4, 29, 15, 0), vn(2026, 5, 4, 9, 30))
        assert resumed.paused == timedelta(hours=4, minutes=30)
        assert resumed.due_at == vn(2026, 5, 6, 16, 30)

    def test_a_pause_across_tet(self, calendar: WorkingCalendar) -> None:
        # Due Tue 24 Feb 2026 10:00 (see the Tết appointment). Paused Fri 13 Feb 16:00 to Mon 23 Feb 08:00:
        # Fri 16:00–17:00 (1 h) + Tết and weekends (0) + Mon 07:00–08:00 (1 h) = 2 h.
        # Tue 24 Feb 10:00 + 2 h: 10:00–11:30 (1.5 h), 13:30–14:00 (0.5 h) -> 14:00.
        resumed = resume(calendar, vn(2026, 2, 24, 10, 0), vn(2026, 2, 13, 16, 0), vn(2026, 2, 23, 8, 0))
        assert resumed.paused == timedelta(hours=2)
        assert resumed.due_at == vn(2026, 2, 24, 14, 0)

    def test_a_pause_outside_working_hours_moves_nothing(self, calendar: WorkingCalendar) -> None:
        # Sat 7 Mar 09:00 to Sun 8 Mar 18:00: no working time.
        resumed = resume(calendar, vn(2026, 3, 10, 9, 0), vn(2026, 3, 7, 9, 0), vn(2026, 3, 8, 18, 0))
        assert resumed.paused == timedelta(0)
        assert resumed.due_at == vn(2026, 3, 10, 9, 0)


class TestOutcomeAgainstTheDueTimeInForce:
    def test_the_pause_decides_between_on_time_and_late(self, calendar: WorkingCalendar) -> None:
        # Same dossier as the holiday pause: due in force Wed 6 May 16:30 (originally 10:00).
        due = resume(calendar, vn(2026, 5, 6, 10, 0), vn(2026, 4, 29, 15, 0), vn(2026, 5, 4, 9, 30)).due_at
        # Finished Wed 6 May 15:00: after the original 10:00 but before 16:30 in force -> on time.
        assert judge_outcome(vn(2026, 5, 6, 15, 0), due) is Outcome.ON_TIME
        # Finished 16:45 -> late; finished Tue 5 May -> early.
        assert judge_outcome(vn(2026, 5, 6, 16, 45), due) is Outcome.LATE
        assert judge_outcome(vn(2026, 5, 5, 16, 59), due) is Outcome.EARLY
        # A second request to supplement: late even when finished early.
        assert judge_outcome(vn(2026, 5, 5, 9, 0), due, supplement_requests=2) is Outcome.LATE

    def test_same_day_procedure_outcome(self, calendar: WorkingCalendar) -> None:
        due = appointment(calendar, vn(2026, 3, 2, 9, 0), TimeLimit(0, LimitUnit.SAME_DAY)).due_at
        # Finished 17:00 sharp on the day: on time (due is closing time, inclusive); the next morning: late.
        assert judge_outcome(vn(2026, 3, 2, 17, 0), due) is Outcome.ON_TIME
        assert judge_outcome(vn(2026, 3, 3, 7, 30), due) is Outcome.LATE


class TestApologyInTime:
    """docs/domain.md "Apology": form 04 may be issued at any time while the dossier is unfinished; it is *in time*
    when at least one working day (8 h) of working time is left before the due time in force. Province hours
    07:00–11:30 and 13:30–17:00 (docs/domain.md, "Working hours")."""

    def test_one_working_day_before_the_due_time(self, province: WorkingCalendar) -> None:
        due = vn(2026, 3, 3, 9, 0)  # Tue 3 Mar 2026 09:00
        # Mon 2 Mar 08:00: Mon 08:00–11:30 (3.5 h) + 13:30–17:00 (3.5 h) + Tue 07:00–09:00 (2 h) = 9 h >= 8 h: in time.
        assert apology_in_time(province, due, vn(2026, 3, 2, 8, 0))
        # Mon 09:00: 2.5 + 3.5 + 2 = 8 h, exactly one working day: in time.
        assert apology_in_time(province, due, vn(2026, 3, 2, 9, 0))
        # Mon 09:30: 2 + 3.5 + 2 = 7.5 h < 8 h: accepted (see the API test) but not in time.
        assert not apology_in_time(province, due, vn(2026, 3, 2, 9, 30))
        # Past due: not in time.
        assert not apology_in_time(province, due, vn(2026, 3, 4, 9, 0))

    def test_across_tet(self, province: WorkingCalendar) -> None:
        due = vn(2026, 2, 24, 10, 0)  # Tue 24 Feb 2026 10:00, after Tết (16–20 Feb off)
        # Fri 13 Feb 10:00: Fri 10:00–17:00 (5 h) + Mon 23 (8 h) + Tue 07:00–10:00 (3 h) = 16 h: in time.
        assert apology_in_time(province, due, vn(2026, 2, 13, 10, 0))
        # Mon 23 Feb 10:00: Mon 10:00–17:00 (5 h) + Tue 07:00–10:00 (3 h) = 8 h: in time; 10:01: 7 h 59 min: not.
        assert apology_in_time(province, due, vn(2026, 2, 23, 10, 0))
        assert not apology_in_time(province, due, vn(2026, 2, 23, 10, 1))

    def test_while_paused_the_time_left_is_frozen(self, province: WorkingCalendar) -> None:
        due = vn(2026, 3, 3, 9, 0)
        # Paused since Mon 2 Mar 08:00 (9 h left then); the apology on Fri 6 Mar is judged with those 9 h: in time.
        assert apology_in_time(province, due, vn(2026, 3, 6, 10, 0), paused_since=vn(2026, 3, 2, 8, 0))
        # Paused since Mon 09:30 (7.5 h left): not in time, however long the wait.
        assert not apology_in_time(province, due, vn(2026, 3, 6, 10, 0), paused_since=vn(2026, 3, 2, 9, 30))


class TestSupplementWindow:
    """Decree 61/2018 Art. 19, docs/domain.md "Pause": a deficiency found during processing is notified within three
    working days of the start of the handling step, counted like an appointment (same clock time, 3rd working day
    after the start day)."""

    def test_plain_week(self, province: WorkingCalendar) -> None:
        # Mon 2 Mar 2026 10:00: Tue 3 (W1), Wed 4 (W2), Thu 5 (W3) -> Thu 5 Mar 10:00.
        assert supplement_window_ends_at(province, vn(2026, 3, 2, 10, 0)) == vn(2026, 3, 5, 10, 0)

    def test_across_tet(self, province: WorkingCalendar) -> None:
        # Thu 12 Feb 2026 10:00: Fri 13 (W1), Tết 16–20 and two weekends off, Mon 23 (W2), Tue 24 (W3) -> 10:00.
        assert supplement_window_ends_at(province, vn(2026, 2, 12, 10, 0)) == vn(2026, 2, 24, 10, 0)


class TestTransferTiming:
    """Decree 61/2018 Art. 18, docs/domain.md "Transfers": the desk hands a dossier over the same working day, or
    the next one when it came after 15:00; a paper transfer recorded after 15:00 takes effect at the next working
    day's opening (07:00)."""

    def test_paper_after_three_takes_effect_next_morning(self, province: WorkingCalendar) -> None:
        # Mon 2 Mar 2026 15:30, paper -> Tue 3 Mar 07:00.
        timing = transfer_timing(province, vn(2026, 3, 2, 15, 30), paper=True, from_desk_since=None)
        assert timing.effective_at == vn(2026, 3, 3, 7, 0) and timing.late is None
        # 15:00 sharp is not after 15:00: effective as recorded.
        assert transfer_timing(province, vn(2026, 3, 2, 15, 0), paper=True, from_desk_since=None).effective_at == vn(
            2026, 3, 2, 15, 0
        )
        # Fri 27 Feb 16:00, paper -> Mon 2 Mar 07:00 (the weekend is off).
        friday = transfer_timing(province, vn(2026, 2, 27, 16, 0), paper=True, from_desk_since=None)
        assert friday.effective_at == vn(2026, 3, 2, 7, 0)
        # Electronic at 15:30 moves at once.
        electronic = transfer_timing(province, vn(2026, 3, 2, 15, 30), paper=False, from_desk_since=None)
        assert electronic.effective_at == vn(2026, 3, 2, 15, 30)

    def test_late_out_of_the_desk(self, province: WorkingCalendar) -> None:
        morning = vn(2026, 3, 2, 10, 0)  # received Mon 10:00: to be handed over by Mon 17:00
        assert transfer_timing(province, vn(2026, 3, 2, 16, 59), paper=True, from_desk_since=morning).late is False
        assert transfer_timing(province, vn(2026, 3, 3, 7, 30), paper=True, from_desk_since=morning).late is True
        afternoon = vn(2026, 3, 2, 15, 30)  # received Mon 15:30: by Tue 17:00
        assert transfer_timing(province, vn(2026, 3, 3, 16, 0), paper=False, from_desk_since=afternoon).late is False
        assert transfer_timing(province, vn(2026, 3, 4, 7, 0), paper=False, from_desk_since=afternoon).late is True
        # Fri 27 Feb 15:30 -> by Mon 2 Mar 17:00 (next working day).
        friday = vn(2026, 2, 27, 15, 30)
        assert transfer_timing(province, vn(2026, 3, 2, 16, 0), paper=True, from_desk_since=friday).late is False
