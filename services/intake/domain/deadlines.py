"""How intake uses the working-day calendar: the appointment, a pause, the apology's timeliness, the supplement
window, transfers, windows of local days (docs/domain.md, "Due time", "Pause", "Apology", "Transfers")."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from libs.common.calendar import VN_TZ, LimitUnit, TimeLimit, WorkingCalendar


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


def apology_in_time(
    calendar: WorkingCalendar, due_at: datetime, at: datetime, paused_since: datetime | None = None
) -> bool:
    """Form 04 may be issued at any time while the dossier is unfinished; it is *in time* when at least one working
    day of working time is left before the due time in force (docs/domain.md, "Apology"; Decree 61/2018 Art. 19).
    While the dossier waits for a supplement its clock stands still, so the time left is what was left when the
    pause began."""
    reference = at if paused_since is None else min(at, paused_since)
    return calendar.working_time_between(reference, due_at) >= calendar.hours.daily()


def due_within_a_working_day(calendar: WorkingCalendar, due_at: datetime, now: datetime) -> bool:
    """At most one working day of working time left (or none): when a late explanation may already be given."""
    return calendar.working_time_between(now, due_at) <= calendar.hours.daily()


SUPPLEMENT_WINDOW = TimeLimit(3, LimitUnit.WORKING_DAYS)
"""A deficiency found during processing is notified within three working days (Decree 61/2018 Art. 19)."""


def supplement_window_ends_at(calendar: WorkingCalendar, step_started_at: datetime) -> datetime:
    """The last moment of the three working days from the start of the handling step (the receipt, or for linked
    processing the last transfer to another agency), counted like an appointment: the same clock time on the third
    working day after the start day (docs/domain.md, "Pause")."""
    return calendar.due_at(step_started_at, SUPPLEMENT_WINDOW)


TRANSFER_CUTOFF = time(15, 0)
"""A paper dossier received after 15:00 is transferred at the next working day (Decree 61/2018 Art. 18)."""


@dataclass(frozen=True)
class TransferTiming:
    effective_at: datetime  # when the receiving side's step starts (the control sheet's time)
    late: bool | None  # None: a transfer between handling agencies, which the same-day rule does not bound


def _after_cutoff(at: datetime) -> bool:
    return at.astimezone(VN_TZ).time() > TRANSFER_CUTOFF


def _next_opening_after(calendar: WorkingCalendar, at: datetime) -> datetime:
    day = calendar.next_working_day(at.astimezone(VN_TZ).date())
    return datetime.combine(day, calendar.hours.opening(), tzinfo=VN_TZ).astimezone(UTC)


def transfer_timing(
    calendar: WorkingCalendar, at: datetime, *, paper: bool, from_desk_since: datetime | None
) -> TransferTiming:
    """When a transfer takes effect and whether it is late (Decree 61/2018 Art. 18; docs/domain.md, "Transfers").

    A paper transfer recorded after 15:00 (or outside working hours) takes effect at the next working day's
    opening; an electronic one takes effect when it is recorded (at the next opening if outside working hours).
    ``from_desk_since`` is when the dossier reached the one-stop desk (its effective receipt) for the transfer out
    of the desk, None for a transfer between handling agencies. The desk hands a dossier over the same working day,
    or the next working day when it was received after 15:00: later than that day's closing is late.
    """
    effective = _next_opening_after(calendar, at) if paper and _after_cutoff(at) else calendar.effective_receipt(at)
    if from_desk_since is None:
        return TransferTiming(effective_at=effective, late=None)
    day = from_desk_since.astimezone(VN_TZ).date()
    if _after_cutoff(from_desk_since):
        day = calendar.next_working_day(day)
    limit = datetime.combine(day, calendar.hours.closing(), tzinfo=VN_TZ).astimezone(UTC)
    return TransferTiming(effective_at=effective, late=at > limit)


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
