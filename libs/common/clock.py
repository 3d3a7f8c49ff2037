"""Where "now" comes from: one injectable clock, so time-dependent code is tested at chosen instants.

Product code asks the clock on its runtime (``rt.clock.now()``) instead of calling ``datetime.now`` itself; a
service runs on the ``SystemClock``, a test may put a ``FrozenClock`` on the runtime and move it by hand.
Every clock returns an aware UTC datetime: local dates (Asia/Ho_Chi_Minh) are derived from it, never stored.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """The source of the current instant."""

    def now(self) -> datetime:
        """The current instant, timezone-aware, in UTC."""
        ...


class SystemClock:
    """The machine's clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FrozenClock:
    """A clock that stands still at ``at`` until a test sets or advances it."""

    def __init__(self, at: datetime) -> None:
        self._at = _utc(at)

    def now(self) -> datetime:
        return self._at

    def set(self, at: datetime) -> None:
        self._at = _utc(at)

    def advance(self, delta: timedelta) -> datetime:
        """Move forward by ``delta`` (a negative delta moves back) and return the new instant."""
        self._at += delta
        return self._at


def _utc(at: datetime) -> datetime:
    # A naive instant has no meaning here: refuse it rather than guess the machine's zone.
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"a clock needs an aware datetime, got naive {at.isoformat()}")
    return at.astimezone(UTC)


SYSTEM_CLOCK = SystemClock()
