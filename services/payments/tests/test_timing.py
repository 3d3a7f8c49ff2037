"""When a payment's outcome may be dated (docs/payments.md §Time, docs/domain.md §Time zone)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.payments.domain.timing import creation_problem, problem

CREATED = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)  # 09:00 in Hà Nội
NOW = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)


def test_between_creation_and_now_is_accepted_both_ends_included() -> None:
    assert problem(CREATED, NOW, CREATED) is None
    assert problem(NOW, NOW, CREATED) is None


def test_the_future_and_before_creation_are_refused() -> None:
    # The case of the issue: created 28 Nov 2026, a provider saying 1 Jan 2025 would move it into an old period.
    assert problem(NOW + timedelta(microseconds=1), NOW, CREATED) == "in the future"
    why = problem(datetime(2025, 1, 1, tzinfo=UTC), NOW, CREATED)
    assert why is not None and why.startswith("before the payment was created")


def test_a_paper_request_keyed_in_later_keeps_its_time_an_online_one_does_not() -> None:
    # cash taken yesterday at the counter: accepted; a day ahead of our clock: refused; online: always now
    assert creation_problem(NOW - timedelta(days=1), NOW, online=False) is None
    assert creation_problem(NOW + timedelta(seconds=1), NOW, online=False) == "in the future"
    why = creation_problem(NOW - timedelta(days=1), NOW, online=True)
    assert why is not None and "online" in why
