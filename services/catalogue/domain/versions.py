"""Versions of a procedure over time. Each decision (publish, amend, withdraw) takes effect on a date; the version in
force on a day is the newest one that started on or before it.

``in_force_until`` is the *last day* a version is in force (inclusive), the convention intake's replica checks with
``local_day > in_force_until``: an amendment effective on D closes the previous version on D − 1, and a withdrawal
effective on W closes the last version on W − 1 (docs/catalogue.md)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from services.catalogue.domain.rules import Issue


@dataclass(frozen=True)
class VersionSpan:
    version: int
    in_force_from: date
    in_force_until: date | None = None


class Availability(StrEnum):
    IN_FORCE = "in_force"
    NOT_YET = "not_yet"  # no version had started on that day
    WITHDRAWN = "withdrawn"  # the last version ended before that day


def last_day_before(effective_on: date) -> date:
    return effective_on - timedelta(days=1)


def check_effective_after(latest: VersionSpan, effective_on: date, what: str) -> list[Issue]:
    """A new decision must take effect after the latest version started, or that version would never be in force
    (and the order of versions in force would no longer be the order of version numbers)."""
    if effective_on <= latest.in_force_from:
        return [
            Issue(
                ("decision", "effective_on"),
                f"the {what} must take effect after {latest.in_force_from.isoformat()},"
                f" when version {latest.version} took effect",
            )
        ]
    return []


def version_at(spans: Sequence[VersionSpan], on: date) -> tuple[VersionSpan | None, Availability]:
    started = [s for s in spans if s.in_force_from <= on]
    if not started:
        return None, Availability.NOT_YET
    newest = max(started, key=lambda s: (s.in_force_from, s.version))
    if newest.in_force_until is not None and on > newest.in_force_until:
        return newest, Availability.WITHDRAWN
    return newest, Availability.IN_FORCE
