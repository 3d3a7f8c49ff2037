"""The receiving agency's calendar drives a dossier's legal clock (docs/domain.md §Working hours, §Due time, §Pause,
§Apology, §Transfers): intake's rules run on the calendar ``CalendarBook.for_agency`` builds from the agency's
replicated hours, and an agency without hours of its own gets the province's.

Every expectation is worked out by hand in a comment. March 2026 has no public holiday: Mon 2, Tue 3, Wed 4, Thu 5,
Fri 6, Sat 7, Sun 8, Mon 9, Tue 10, Wed 11 March. The province's day is 07:00–11:30 and 13:30–17:00 (8 h).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

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
from libs.common.contract import AgencyPublished
from services.intake.catalogue_replica.service import agency_hours, check_hours
from services.intake.domain import deadlines
from services.intake.models import AgencyReplica


def vn(day: int, hour: int = 0, minute: int = 0) -> datetime:
    """An instant of March 2026, Hà Nội time."""
    return datetime(2026, 3, day, hour, minute, tzinfo=VN_TZ)


PROVINCE = WorkingCalendar(years=range(2026, 2027))
BOOK = CalendarBook(PROVINCE)
THREE_DAYS = TimeLimit(3, LimitUnit.WORKING_DAYS)

# An agency open 07:30–11:30 and 13:00–16:30: 4 h + 3.5 h = 7.5 h a day.
OWN_SESSIONS = BOOK.for_agency(AgencyHours.of("07:30-11:30,13:00-16:30"))
# An agency that works Saturday 7 March 2026 (besides the province's working days).
EXTRA_SATURDAY = BOOK.for_agency(AgencyHours.of(extra_working_days=[datetime(2026, 3, 7).date()]))
# An agency closed Monday 9 March 2026 (besides the province's days off).
DAY_OFF = BOOK.for_agency(AgencyHours.of(extra_holidays=[datetime(2026, 3, 9).date()]))


def replica(**hours: object) -> AgencyReplica:
    fields: dict[str, object] = {"code": "000.00.31.H56", "name": "UBND xã", "level": "commune"}
    return AgencyReplica(**{**fields, "procedure_codes": [], "desks": [], **hours})


class TestOwnSessions:
    def test_a_receipt_after_its_closing_counts_from_its_next_opening(self) -> None:
        # Mon 2 Mar 16:45 is after the agency's 16:30 closing: received Tue 3 Mar 07:30 (its opening); three working
        # days after Tue 3 (not counted) is Fri 6 Mar, same clock time: due Fri 6 Mar 07:30.
        agency = deadlines.appointment(OWN_SESSIONS, vn(2, 16, 45), THREE_DAYS)
        assert (agency.received_at, agency.due_at) == (vn(3, 7, 30), vn(6, 7, 30))
        # The province is open until 17:00: received at 16:45, due Thu 5 Mar 16:45.
        province = deadlines.appointment(PROVINCE, vn(2, 16, 45), THREE_DAYS)
        assert (province.received_at, province.due_at) == (vn(2, 16, 45), vn(5, 16, 45))

    def test_a_limit_in_working_hours_is_counted_in_its_hours(self) -> None:
        # 8 working hours from Mon 2 Mar 09:00. Agency: 09:00–11:30 (2.5 h) + 13:00–16:30 (3.5 h) = 6 h on Monday,
        # the last 2 h from Tue 07:30: due Tue 3 Mar 09:30. Province: 2.5 h + 13:30–17:00 (3.5 h) = 6 h, the last
        # 2 h from Tue 07:00: due Tue 3 Mar 09:00.
        eight_hours = TimeLimit(8, LimitUnit.WORKING_HOURS)
        assert deadlines.appointment(OWN_SESSIONS, vn(2, 9), eight_hours).due_at == vn(3, 9, 30)
        assert deadlines.appointment(PROVINCE, vn(2, 9), eight_hours).due_at == vn(3, 9)

    def test_a_same_day_procedure_is_due_at_its_closing(self) -> None:
        same_day = TimeLimit(0, LimitUnit.SAME_DAY)
        assert deadlines.appointment(OWN_SESSIONS, vn(2, 9), same_day).due_at == vn(2, 16, 30)
        assert deadlines.appointment(PROVINCE, vn(2, 9), same_day).due_at == vn(2, 17)

    def test_a_paper_transfer_after_three_takes_effect_at_its_next_opening(self) -> None:
        # Received Mon 2 Mar 09:00; a paper transfer recorded Mon 15:30 (after 15:00) takes effect at the next
        # working day's opening: Tue 07:30 for the agency, Tue 07:00 for the province (Decree 61/2018 Art. 18).
        agency = deadlines.transfer_timing(OWN_SESSIONS, vn(2, 15, 30), paper=True, from_desk_since=vn(2, 9))
        province = deadlines.transfer_timing(PROVINCE, vn(2, 15, 30), paper=True, from_desk_since=vn(2, 9))
        assert (agency.effective_at, agency.late) == (vn(3, 7, 30), False)
        assert (province.effective_at, province.late) == (vn(3, 7), False)

    def test_the_desk_hands_over_by_its_closing(self) -> None:
        # Received Mon 2 Mar 09:00 (before 15:00): the desk hands over by the closing of the same day. Recorded at
        # 16:45: after the agency's 16:30 closing (late), before the province's 17:00 (not late).
        assert deadlines.transfer_timing(OWN_SESSIONS, vn(2, 16, 45), paper=False, from_desk_since=vn(2, 9)).late
        assert not deadlines.transfer_timing(PROVINCE, vn(2, 16, 45), paper=False, from_desk_since=vn(2, 9)).late

    def test_an_apology_needs_one_of_its_working_days_left(self) -> None:
        # Due Tue 3 Mar 09:00. Apology Mon 2 Mar 09:00: 09:00–11:30 (2.5 h) + 13:00–16:30 (3.5 h) + Tue 07:30–09:00
        # (1.5 h) = 7.5 h left, one of the agency's 7.5 h days: in time (it would not be against the province's
        # 8 h). Apology Mon 2 Mar 16:00: 16:00–16:30 (0.5 h) + 1.5 h = 2 h left: not in time.
        due = vn(3, 9)
        assert OWN_SESSIONS.working_time_between(vn(2, 9), due) == timedelta(hours=7.5)
        assert deadlines.apology_in_time(OWN_SESSIONS, due, vn(2, 9))
        assert not deadlines.apology_in_time(OWN_SESSIONS, due, vn(2, 16))


class TestExtraSaturday:
    def test_the_saturday_counts_as_a_working_day(self) -> None:
        # Received Thu 5 Mar 10:00, three working days. Agency: Fri 6, Sat 7, Mon 9 -> due Mon 9 Mar 10:00.
        # Province: Fri 6, Mon 9, Tue 10 -> due Tue 10 Mar 10:00.
        assert deadlines.appointment(EXTRA_SATURDAY, vn(5, 10), THREE_DAYS).due_at == vn(9, 10)
        assert deadlines.appointment(PROVINCE, vn(5, 10), THREE_DAYS).due_at == vn(10, 10)

    def test_a_dossier_received_that_saturday_counts_from_it(self) -> None:
        # Sat 7 Mar 09:00 is inside the agency's hours: received then; Mon 9, Tue 10, Wed 11 -> due Wed 11 Mar 09:00.
        # The province is closed: received Mon 9 Mar 07:00, due Thu 12 Mar 07:00.
        agency = deadlines.appointment(EXTRA_SATURDAY, vn(7, 9), THREE_DAYS)
        province = deadlines.appointment(PROVINCE, vn(7, 9), THREE_DAYS)
        assert (agency.received_at, agency.due_at) == (vn(7, 9), vn(11, 9))
        assert (province.received_at, province.due_at) == (vn(9, 7), vn(12, 7))


class TestExtraDayOff:
    def test_the_day_off_inside_the_clock_is_not_counted(self) -> None:
        # Received Thu 5 Mar 10:00, three working days. Agency (closed Mon 9): Fri 6, Tue 10, Wed 11 -> due Wed 11
        # Mar 10:00; province: due Tue 10 Mar 10:00.
        assert deadlines.appointment(DAY_OFF, vn(5, 10), THREE_DAYS).due_at == vn(11, 10)
        assert deadlines.appointment(PROVINCE, vn(5, 10), THREE_DAYS).due_at == vn(10, 10)

    def test_a_pause_over_the_day_off_counts_no_working_time_on_it(self) -> None:
        # Paused Fri 6 Mar 15:00, resumed Tue 10 Mar 08:00. Agency: Fri 15:00–17:00 (2 h) + Tue 07:00–08:00 (1 h) =
        # 3 h; the due time Wed 11 Mar 10:00 + 3 h = 10:00–11:30 (1.5 h) + 13:30–15:00 (1.5 h) -> Wed 11 Mar 15:00.
        # Province: 2 h + Mon 9 (8 h) + 1 h = 11 h.
        agency = deadlines.resume(DAY_OFF, vn(11, 10), vn(6, 15), vn(10, 8))
        assert (agency.paused, agency.due_at) == (timedelta(hours=3), vn(11, 15))
        assert deadlines.resume(PROVINCE, vn(10, 10), vn(6, 15), vn(10, 8)).paused == timedelta(hours=11)

    def test_the_supplement_window_skips_the_day_off(self) -> None:
        # Received Thu 5 Mar 10:00: three working days to ask for a supplement end Wed 11 Mar 10:00 at the agency
        # (Fri 6, Tue 10, Wed 11), Tue 10 Mar 10:00 in the province (docs/domain.md §Pause).
        assert deadlines.supplement_window_ends_at(DAY_OFF, vn(5, 10)) == vn(11, 10)
        assert deadlines.supplement_window_ends_at(PROVINCE, vn(5, 10)) == vn(10, 10)

    def test_the_apology_window_counts_its_working_days(self) -> None:
        # Due Wed 11 Mar 10:00 (agency). Apology Mon 9 Mar 11:00, on its day off: Tue (8 h) + Wed 07:00–10:00 (3 h)
        # = 11 h >= 8 h: in time. For the province, due Tue 10 Mar 10:00: Mon 11:00–11:30 (0.5 h) + 13:30–17:00
        # (3.5 h) + Tue 07:00–10:00 (3 h) = 7 h < 8 h: not in time.
        assert deadlines.apology_in_time(DAY_OFF, vn(11, 10), vn(9, 11))
        assert not deadlines.apology_in_time(PROVINCE, vn(10, 10), vn(9, 11))


class TestProvinceDefault:
    def test_the_default_is_seven_to_half_past_eleven_and_half_past_one_to_five(self) -> None:
        default = WorkingHours.parse("07:00-11:30,13:30-17:00")
        assert CalendarSettings().working_hours() == default == WorkingHours() == PROVINCE.hours
        assert default.daily() == timedelta(hours=8)

    def test_an_agency_without_hours_of_its_own_uses_the_province_calendar(self) -> None:
        assert BOOK.for_agency(agency_hours(None)) is PROVINCE
        assert BOOK.for_agency(agency_hours(replica(extra_holidays=[], extra_working_days=[]))) is PROVINCE
        # Received Mon 2 Mar 09:00, three working days: due Thu 5 Mar 09:00, as before agencies had hours.
        appointment = deadlines.appointment(BOOK.for_agency(agency_hours(None)), vn(2, 9), THREE_DAYS)
        assert (appointment.received_at, appointment.due_at) == (vn(2, 9), vn(5, 9))

    def test_the_replicas_hours_are_read_back_as_published(self) -> None:
        row = replica(
            opening_sessions="07:30-11:30,13:00-16:30", extra_holidays=["2026-03-09"], extra_working_days=["2026-03-07"]
        )
        calendar = BOOK.for_agency(agency_hours(row))
        assert calendar.hours == WorkingHours.parse("07:30-11:30,13:00-16:30")
        assert not calendar.is_working_day(vn(9, 12).date()) and calendar.is_working_day(vn(7, 12).date())
        # the same hours share one calendar (the book's cache is keyed by the hours, not by the agency)
        same = replica(
            opening_sessions="07:30-11:30,13:00-16:30", extra_holidays=["2026-03-09"], extra_working_days=["2026-03-07"]
        )
        assert BOOK.for_agency(agency_hours(same)) is calendar


def test_instants_are_utc() -> None:
    assert vn(2, 9) == datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "hours",
    [
        {"opening_sessions": "7h30-11h30"},
        {"extra_holidays": ["2026-03-09"], "extra_working_days": ["2026-03-09"]},
    ],
)
def test_hours_the_calendar_cannot_use_are_refused_at_the_replica(hours: dict[str, object]) -> None:
    event = AgencyPublished.model_validate({"code": "000.00.31.H56", "name": "UBND xã", "level": "commune", **hours})
    with pytest.raises(ValueError):
        check_hours(event)
