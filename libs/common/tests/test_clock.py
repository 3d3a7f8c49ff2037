from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from libs.common.clock import SYSTEM_CLOCK, FrozenClock

HANOI = timezone(timedelta(hours=7))


def test_the_system_clock_is_aware_utc_and_moves() -> None:
    first = SYSTEM_CLOCK.now()
    assert first.tzinfo is UTC
    assert SYSTEM_CLOCK.now() >= first


def test_a_frozen_clock_stands_still_until_moved() -> None:
    clock = FrozenClock(datetime(2026, 3, 2, 9, 0, tzinfo=HANOI))
    assert clock.now() == datetime(2026, 3, 2, 2, 0, tzinfo=UTC) and clock.now().tzinfo is UTC
    assert clock.now() == clock.now()
    assert clock.advance(timedelta(hours=1)) == datetime(2026, 3, 2, 3, 0, tzinfo=UTC) == clock.now()
    clock.set(datetime(2026, 1, 1, tzinfo=UTC))
    assert clock.now() == datetime(2026, 1, 1, tzinfo=UTC)


def test_a_naive_instant_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        FrozenClock(datetime(2026, 3, 2, 9, 0))
    clock = FrozenClock(datetime(2026, 3, 2, tzinfo=UTC))
    with pytest.raises(ValueError, match="aware"):
        clock.set(datetime(2026, 3, 2))
