"""Timeliness of a dossier (domain.md Part A1 "Outcome"; the Decision 766 national index rules).

Judged against the due time in force: pauses for supplements included, an apology's new appointment excluded.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from libs.common.calendar import VN_TZ


class Outcome(StrEnum):
    EARLY = "early"
    ON_TIME = "on_time"
    LATE = "late"


def outcome(finished_at: datetime, due_at: datetime, supplement_requests: int = 0) -> Outcome:
    """Early: finished on an earlier calendar date (Asia/Ho_Chi_Minh) than the due date; on time: on the due date
    and no later than the due time; late otherwise. More than one request to supplement during processing makes the
    dossier late whatever its result time (national index rule)."""
    if supplement_requests > 1:
        return Outcome.LATE
    finished_on = finished_at.astimezone(VN_TZ).date()
    due_on = due_at.astimezone(VN_TZ).date()
    if finished_on < due_on:
        return Outcome.EARLY
    if finished_on == due_on and finished_at <= due_at:
        return Outcome.ON_TIME
    return Outcome.LATE


def is_overdue(due_at: datetime, now: datetime, paused_at: datetime | None = None) -> bool:
    """An unfinished dossier is overdue once its due time in force has passed. While it waits for a supplement its
    clock stands still, so it is overdue only if the pause began after the due time."""
    if paused_at is not None:
        return paused_at > due_at
    return now > due_at
