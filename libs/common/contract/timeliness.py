"""The timeliness verdicts the events carry: a finished dossier's outcome, and whether an open one is overdue.

They belong to the contract because they are part of what its fields mean. Intake, which knows the dossier, judges
and publishes them (``outcome`` on the finishing events); reporting reads the published verdict and calls these
functions only for events recorded before the field existed, and to judge "in progress, overdue" at a period's
end. One definition each, here, so the two services cannot disagree (docs/domain.md, "Outcome" and "Overdue").
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

__all__ = ["Outcome", "judge_outcome", "overdue"]

# Legal dates are calendar dates in Vietnam whatever the server's zone (docs/domain.md, "Time").
_VN = ZoneInfo("Asia/Ho_Chi_Minh")


class Outcome(StrEnum):
    EARLY = "early"
    ON_TIME = "on_time"
    LATE = "late"


def judge_outcome(finished_at: datetime, due_at: datetime, supplement_requests: int = 0) -> Outcome:
    """The outcome of a finished dossier against its due time in force (pauses included, an apology's new date
    excluded): early if finished on an earlier calendar date in Vietnam than the due date, on time if on the due
    date and no later than the due time, late otherwise. More than one request to supplement during processing
    makes it late whatever its result time (the national index rule, Decision 766/QĐ-TTg)."""
    if supplement_requests > 1:
        return Outcome.LATE
    finished_on = finished_at.astimezone(_VN).date()
    due_on = due_at.astimezone(_VN).date()
    if finished_on < due_on:
        return Outcome.EARLY
    if finished_on == due_on and finished_at <= due_at:
        return Outcome.ON_TIME
    return Outcome.LATE


def overdue(
    at: datetime,
    *,
    due_at: datetime | None,
    paused_since: datetime | None = None,
    second_request: bool = False,
) -> bool:
    """Whether a dossier still unfinished at ``at`` is overdue then.

    ``due_at`` is the due time in force at ``at`` (moved by every pause that has ended before ``at``; an apology's
    new date never counts); ``paused_since`` is when the current wait for a supplement began, if the dossier is
    waiting at ``at``; ``second_request`` is whether a second request to supplement was made before ``at``.

    - A second request to supplement makes the dossier late whatever happens next (national index rule), so it is
      overdue from that request on, waiting or not.
    - While it waits for a supplement its clock stands still: it is overdue only if the wait began after its due
      time (it was already late when the clock stopped).
    - Otherwise it is overdue once the due time in force has passed. A missing due time never makes it overdue.
    """
    if second_request:
        return True
    if due_at is None:
        return False
    if paused_since is not None:
        return paused_since > due_at
    return at > due_at
