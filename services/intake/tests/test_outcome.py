"""Outcome of a finished dossier (domain.md A1): dates compared in Asia/Ho_Chi_Minh."""

from __future__ import annotations

from datetime import datetime

import pytest

from libs.common.calendar import VN_TZ
from services.intake.domain.outcome import Outcome, is_overdue, outcome


def vn(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=VN_TZ)


DUE = vn(2026, 3, 5, 9, 0)  # Thursday 5 March 2026, 09:00


@pytest.mark.parametrize(
    ("finished", "requests", "expected"),
    [
        # an earlier calendar date is early, whatever the clock time
        (vn(2026, 3, 4, 16, 59), 0, Outcome.EARLY),
        (vn(2026, 3, 4, 23, 59), 0, Outcome.EARLY),
        # the due date, at or before the due time: on time
        (vn(2026, 3, 5, 7, 30), 0, Outcome.ON_TIME),
        (vn(2026, 3, 5, 9, 0), 0, Outcome.ON_TIME),
        # the due date after the due time, or a later date: late
        (vn(2026, 3, 5, 9, 1), 0, Outcome.LATE),
        (vn(2026, 3, 6, 8, 0), 0, Outcome.LATE),
        # one request to supplement changes nothing by itself...
        (vn(2026, 3, 4, 10, 0), 1, Outcome.EARLY),
        # ...a second one makes the dossier late whatever its result time (national index rule)
        (vn(2026, 3, 2, 10, 0), 2, Outcome.LATE),
        (vn(2026, 3, 5, 9, 0), 3, Outcome.LATE),
    ],
)
def test_outcome(finished: datetime, requests: int, expected: Outcome) -> None:
    assert outcome(finished, DUE, requests) is expected


def test_dates_are_compared_in_vietnam_not_utc() -> None:
    # Due Thursday 5 March 07:30 (= Wednesday 4 March 00:30 UTC). Finished Wednesday 4 March 23:00 UTC, which is
    # already Thursday 06:00 in Hà Nội: same local date, before the due time, so on time (UTC dates would say late).
    due = vn(2026, 3, 5, 7, 30)
    finished = vn(2026, 3, 5, 6, 0)
    assert finished.astimezone(VN_TZ).date() == due.date()
    assert outcome(finished, due) is Outcome.ON_TIME


def test_overdue_while_open_and_while_paused() -> None:
    assert not is_overdue(DUE, vn(2026, 3, 5, 9, 0))
    assert is_overdue(DUE, vn(2026, 3, 5, 9, 1))
    # waiting for a supplement since before the due time: the clock stands still, never overdue
    assert not is_overdue(DUE, vn(2026, 4, 1, 9, 0), paused_at=vn(2026, 3, 4, 9, 0))
    # the request came after the due time had passed: overdue already
    assert is_overdue(DUE, vn(2026, 4, 1, 9, 0), paused_at=vn(2026, 3, 6, 9, 0))
