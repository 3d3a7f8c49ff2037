"""How intake uses the working-day calendar: the appointment, a pause, the apology window, windows of local days
(docs/domain.md, "Due time" and "Pause")."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from libs.common.calendar import VN_TZ, TimeLimit, WorkingCalendar


@dataclass(frozen=True)
class Appointment:
    received_at: datetime  # when the clock starts: the next opening if the dossier came outside working hours
    due_at: datetime  # the appointment on form 01


def appointment(calendar: WorkingCalendar, at: datetime, limit: TimeLimit) -> Appointment:
    received_at = calendar.effective_receipt(at)
    return Appointment(received_at=received_at, due_at=calendar.due_at(received_at, limit))


@dataclass(frozen=True)
class Resumption:
    due_at: datetime  # the due time in force after the pause
    paused: timedelta  # working time the clock stood still


def resume(calendar: WorkingCalendar, due_at: datetime, paused_at: datetime, resumed_at: datetime) -> Resumption:
    """The supplement arrived: the due time moves by the paused *working* time (national index rule)."""
    new_due = calendar.paused_due_at(due_at, [(paused_at, resumed_at)])
    return Resumption(due_at=new_due, paused=calendar.working_time_between(paused_at, resumed_at))


def apology_window_open(calendar: WorkingCalendar, due_at: datetime, now: datetime) -> bool:
    """Form 04 is issued at the latest 1 working day before the due time, or as soon as the dossier is late, so it
    is accepted only when at most one working day of working time is left (or none)."""
    return calendar.working_time_between(now, due_at) <= calendar.hours.daily()


def due_bound(calendar: WorkingCalendar, now: datetime, working_days: int) -> datetime:
    """Closing time of the N-th working day from today (0: today), for "due within N working days"."""
    today = now.astimezone(VN_TZ).date()
    if working_days == 0:
        day = today if calendar.is_working_day(today) else calendar.next_working_day(today)
    else:
        day = calendar.add_working_days(today, working_days)
    return datetime.combine(day, calendar.hours.closing(), tzinfo=VN_TZ).astimezone(UTC)


def local_window(start: date, end: date) -> tuple[datetime, datetime]:
    """[start 00:00, end+1 00:00) in Asia/Ho_Chi_Minh, as UTC instants: legal dates are Vietnamese dates."""
    return (
        datetime.combine(start, time(0), tzinfo=VN_TZ).astimezone(UTC),
        datetime.combine(end + timedelta(days=1), time(0), tzinfo=VN_TZ).astimezone(UTC),
    )
