"""The payment state machine, pair by pair, and the refund plan."""

from __future__ import annotations

import itertools

import pytest

from services.payments.domain.states import (
    PAID,
    TRANSITIONS,
    Command,
    PaymentStatus,
    RefundTooLarge,
    TransitionRefused,
    allowed_commands,
    is_repeat,
    next_status,
    plan_refund,
    refundable,
)

S, C = PaymentStatus, Command

# Written out by hand (not derived from the table under test).
EXPECTED: dict[tuple[PaymentStatus, Command], PaymentStatus] = {
    (S.CREATED, C.SUCCEED): S.SUCCEEDED,
    (S.CREATED, C.FAIL): S.FAILED,
    (S.SUCCEEDED, C.REFUND_PART): S.PARTIALLY_REFUNDED,
    (S.SUCCEEDED, C.REFUND_REST): S.REFUNDED,
    (S.PARTIALLY_REFUNDED, C.REFUND_PART): S.PARTIALLY_REFUNDED,
    (S.PARTIALLY_REFUNDED, C.REFUND_REST): S.REFUNDED,
}
PAIRS = list(itertools.product(PaymentStatus, Command))


@pytest.mark.parametrize(("status", "command"), PAIRS, ids=[f"{s}-{c}" for s, c in PAIRS])
def test_every_pair_is_allowed_or_refused(status: PaymentStatus, command: Command) -> None:
    expected = EXPECTED.get((status, command))
    if expected is None:
        with pytest.raises(TransitionRefused) as refused:
            next_status(status, command)
        assert refused.value.status is status and refused.value.command is command
    else:
        assert next_status(status, command) is expected


def test_the_table_is_exactly_the_expected_one() -> None:
    assert dict(TRANSITIONS) == EXPECTED


@pytest.mark.parametrize("status", [S.FAILED, S.REFUNDED])
def test_final_states_allow_nothing(status: PaymentStatus) -> None:
    assert allowed_commands(status) == []


def test_allowed_commands() -> None:
    assert allowed_commands(S.CREATED) == [C.SUCCEED, C.FAIL]
    assert allowed_commands(S.SUCCEEDED) == [C.REFUND_PART, C.REFUND_REST]


@pytest.mark.parametrize(
    ("status", "command", "repeat"),
    [
        (S.SUCCEEDED, C.SUCCEED, True),
        (S.PARTIALLY_REFUNDED, C.SUCCEED, True),  # a late duplicate success after a refund
        (S.REFUNDED, C.SUCCEED, True),
        (S.FAILED, C.FAIL, True),
        (S.CREATED, C.SUCCEED, False),
        (S.CREATED, C.FAIL, False),
        (S.FAILED, C.SUCCEED, False),  # a contradiction, not a repeat
        (S.SUCCEEDED, C.FAIL, False),
        (S.SUCCEEDED, C.REFUND_PART, False),
    ],
)
def test_repeats(status: PaymentStatus, command: Command, repeat: bool) -> None:
    assert is_repeat(status, command) is repeat


def test_refundable_is_what_is_left_of_money_taken() -> None:
    assert refundable(S.SUCCEEDED, 8000, 0) == 8000
    assert refundable(S.PARTIALLY_REFUNDED, 8000, 3000) == 5000
    assert refundable(S.REFUNDED, 8000, 8000) == 0
    assert refundable(S.CREATED, 8000, 0) == 0
    assert refundable(S.FAILED, 8000, 0) == 0
    assert frozenset({S.SUCCEEDED, S.PARTIALLY_REFUNDED, S.REFUNDED}) == PAID


def test_partial_refunds_up_to_the_amount() -> None:
    first = plan_refund(S.SUCCEEDED, 10_000, 0, 3_000)
    assert (first.command, first.status, first.refunded_vnd) == (C.REFUND_PART, S.PARTIALLY_REFUNDED, 3_000)
    second = plan_refund(first.status, 10_000, first.refunded_vnd, 7_000)
    assert (second.command, second.status, second.refunded_vnd) == (C.REFUND_REST, S.REFUNDED, 10_000)


def test_a_full_refund_at_once() -> None:
    plan = plan_refund(S.SUCCEEDED, 10_000, 0, 10_000)
    assert plan.status is S.REFUNDED and plan.refunded_vnd == 10_000


def test_a_refund_beyond_what_is_left_is_refused() -> None:
    with pytest.raises(RefundTooLarge) as too_large:
        plan_refund(S.PARTIALLY_REFUNDED, 10_000, 6_000, 4_001)
    assert too_large.value.refundable_vnd == 4_000


@pytest.mark.parametrize("status", [S.CREATED, S.FAILED, S.REFUNDED])
def test_no_refund_without_money_left(status: PaymentStatus) -> None:
    with pytest.raises(TransitionRefused):
        plan_refund(status, 10_000, 10_000 if status is S.REFUNDED else 0, 1)


def test_a_refund_is_positive() -> None:
    with pytest.raises(ValueError):
        plan_refund(S.SUCCEEDED, 10_000, 0, 0)
