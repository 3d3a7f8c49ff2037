"""The shared table of timeliness cases (test kit): every implementation of the outcome and overdue rules — the
contract's functions, intake's live state and its SQL filter, reporting's facts and its SQL twin — is tested against
these same rows, so that "overdue" and "late" mean one thing across services (docs/domain.md, "Outcome", "Overdue").

Times are Vietnam local (the law's clock); each case is a dossier's history and an instant to judge it at.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from libs.common.contract.timeliness import Outcome

VN = ZoneInfo("Asia/Ho_Chi_Minh")


def vn(day: str, clock: str) -> datetime:
    """A Vietnam local instant, e.g. ``vn("2026-03-03", "09:00")``."""
    return datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=VN)


@dataclass(frozen=True)
class Pause:
    """A request to supplement at ``requested_at``; if the supplement came, ``resumed_at`` and the due time in force
    after it (moved by the paused working time, as intake computes it)."""

    requested_at: datetime
    resumed_at: datetime | None = None
    due_after: datetime | None = None


@dataclass(frozen=True)
class OverdueCase:
    name: str
    received_at: datetime
    due_at: datetime  # at receipt
    at: datetime  # the instant judged
    expected: bool
    pauses: tuple[Pause, ...] = field(default=())

    def pauses_before(self, instant: datetime) -> tuple[Pause, ...]:
        """What had happened by ``instant``: a service that knows only the present sees no later step."""
        seen = []
        for p in self.pauses:
            if p.requested_at >= instant:
                break
            resumed = p.resumed_at is not None and p.resumed_at < instant
            seen.append(p if resumed else Pause(p.requested_at))
        return tuple(seen)

    def state_at(self, instant: datetime) -> tuple[datetime, datetime | None, bool]:
        """(due time in force, start of the current wait or None, whether a second request was made) at ``instant``."""
        due, paused_since = self.due_at, None
        seen = self.pauses_before(instant)
        for p in seen:
            if p.resumed_at is None:
                paused_since = p.requested_at
            else:
                assert p.due_after is not None
                due = p.due_after
        return due, paused_since, len(seen) > 1


RECEIVED = vn("2026-03-02", "08:00")  # Monday
DUE = vn("2026-03-05", "08:00")  # Thursday, three working days later

OVERDUE_CASES: tuple[OverdueCase, ...] = (
    OverdueCase("before the due time", RECEIVED, DUE, vn("2026-03-05", "07:59"), False),
    OverdueCase("exactly at the due time is not yet overdue", RECEIVED, DUE, DUE, False),
    OverdueCase("one minute after the due time", RECEIVED, DUE, vn("2026-03-05", "08:01"), True),
    OverdueCase(
        "waiting for a supplement asked before the due time: the clock stands still",
        RECEIVED,
        DUE,
        vn("2026-03-10", "10:00"),
        False,
        (Pause(vn("2026-03-03", "10:00")),),
    ),
    OverdueCase(
        "waiting for a supplement asked after the due time: already late when the clock stopped",
        RECEIVED,
        DUE,
        vn("2026-03-10", "10:00"),
        True,
        (Pause(vn("2026-03-05", "09:00")),),
    ),
    # Paused Tue 10:00 to Thu 14:00: 17 working hours (2 × 7.5 h + 2 h), so Thu 08:00 moves to Mon 10:00.
    OverdueCase(
        "after the supplement, the moved due time has not passed",
        RECEIVED,
        DUE,
        vn("2026-03-09", "09:00"),
        False,
        (Pause(vn("2026-03-03", "10:00"), vn("2026-03-05", "14:00"), vn("2026-03-09", "10:00")),),
    ),
    OverdueCase(
        "after the supplement, the moved due time has passed",
        RECEIVED,
        DUE,
        vn("2026-03-09", "10:01"),
        True,
        (Pause(vn("2026-03-03", "10:00"), vn("2026-03-05", "14:00"), vn("2026-03-09", "10:00")),),
    ),
    OverdueCase(
        "judged before the supplement arrived, the pause still holds",
        RECEIVED,
        DUE,
        vn("2026-03-05", "09:00"),
        False,
        (Pause(vn("2026-03-03", "10:00"), vn("2026-03-05", "14:00"), vn("2026-03-09", "10:00")),),
    ),
    OverdueCase(
        "a second request before the due time, still waiting: late by the national index rule",
        RECEIVED,
        DUE,
        vn("2026-03-04", "16:00"),
        True,
        (
            Pause(vn("2026-03-02", "09:00"), vn("2026-03-02", "15:00"), vn("2026-03-05", "14:00")),
            Pause(vn("2026-03-04", "15:00")),
        ),
    ),
    OverdueCase(
        "judged before the second request was made, only the first pause counts",
        RECEIVED,
        DUE,
        vn("2026-03-04", "14:00"),
        False,
        (
            Pause(vn("2026-03-02", "09:00"), vn("2026-03-02", "15:00"), vn("2026-03-05", "14:00")),
            Pause(vn("2026-03-04", "15:00")),
        ),
    ),
)


@dataclass(frozen=True)
class OutcomeCase:
    name: str
    finished_at: datetime
    due_at: datetime
    supplement_requests: int
    expected: Outcome


OUTCOME_CASES: tuple[OutcomeCase, ...] = (
    OutcomeCase("finished the day before the due date", vn("2026-03-04", "16:59"), DUE, 0, Outcome.EARLY),
    OutcomeCase("on the due date before the due time", vn("2026-03-05", "07:30"), DUE, 0, Outcome.ON_TIME),
    OutcomeCase("exactly at the due time", DUE, DUE, 1, Outcome.ON_TIME),
    OutcomeCase("on the due date after the due time", vn("2026-03-05", "08:01"), DUE, 0, Outcome.LATE),
    OutcomeCase("the next day", vn("2026-03-06", "07:00"), DUE, 0, Outcome.LATE),
    OutcomeCase("early, but two requests to supplement", vn("2026-03-03", "09:00"), DUE, 2, Outcome.LATE),
    # 06:30 on the due date in Vietnam is still the previous day in UTC: the Vietnamese date decides.
    OutcomeCase("the due date in Vietnam, the day before in UTC", vn("2026-03-05", "06:30"), DUE, 0, Outcome.ON_TIME),
)
