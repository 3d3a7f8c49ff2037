"""Decision 766 transparency facts of a procedure version (docs/domain.md §Publication of procedures).

- Published on time: the publishing decision is signed at least ``PUBLICATION_LEAD_WORKING_DAYS`` working days
  before the day it takes effect (Decree 63/2010/NĐ-CP Art. 15 as amended by Decree 92/2017/NĐ-CP).
- Public in the national procedure database on time: made public there at the latest
  ``NATIONAL_DB_WITHIN_WORKING_DAYS`` working days after the decision was signed (same decree, publicity rules).
- All seven components present: the parts every published procedure states (Decree 63/2010 Art. 8).

The catalogue computes the two deadlines with the province's calendar and publishes them with the version, so
reporting compares dates and never counts working days itself: the rule lives here only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from libs.common.calendar import WorkingCalendar

PUBLICATION_LEAD_WORKING_DAYS = 20
NATIONAL_DB_WITHIN_WORKING_DAYS = 5

# The seven components, in the order a publishing decision lists them.
COMPONENTS = ("name", "steps", "submission", "dossier", "time_limit", "fees", "result")


@dataclass(frozen=True)
class Deadlines:
    publication_due_on: date  # the latest signing day that is on time
    national_db_due_on: date  # the last day for being public in the national database on time


def deadlines(calendar: WorkingCalendar, signed_on: date, effective_on: date) -> Deadlines:
    # Signed on day S, effective on day E: on time when S is at or before the 20th working day before E, i.e. at
    # least 20 working days lie in (S, E]. Public by the 5th working day after S (S itself not counted).
    return Deadlines(
        publication_due_on=calendar.add_working_days(effective_on, -PUBLICATION_LEAD_WORKING_DAYS),
        national_db_due_on=calendar.add_working_days(signed_on, NATIONAL_DB_WITHIN_WORKING_DAYS),
    )


def missing_components(
    *, name: str, steps: Sequence[object], components: Sequence[object], results: Sequence[object]
) -> list[str]:
    """The components absent from a version. The manner of submission (channels), the time limit and the fees
    (a list that may rightly be empty: a free procedure) are required by the catalogue's own schema, so a version
    always states them; the name, the steps, the dossier's documents and the result can be left out."""
    present = {
        "name": bool(name.strip()),
        "steps": bool(steps),
        "submission": True,
        "dossier": bool(components),
        "time_limit": True,
        "fees": True,
        "result": bool(results),
    }
    return [component for component in COMPONENTS if not present[component]]


def on_time(done_on: date | None, due_on: date | None, as_of: date) -> bool | None:
    """On time if done by the due day; late if done after it or still not done after it; None (not yet judged) when
    not done and the due day has not passed, or when the due day is unknown."""
    if due_on is None:
        return None
    if done_on is not None:
        return done_on <= due_on
    return False if as_of > due_on else None
