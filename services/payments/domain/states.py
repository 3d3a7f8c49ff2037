"""A payment's life as one table of allowed transitions.

``created`` is an intent: nothing has been paid. It ends ``succeeded`` (confirmed at the desk, or the provider says
so) or ``failed`` (the provider says so). Money is returned only from a succeeded payment, in one or several
refunds up to its amount: ``partially_refunded`` while some is left, ``refunded`` once all of it is returned. Which
refund command applies is decided by ``plan_refund`` from the amounts, so the table itself stays pure data.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType


class PaymentStatus(StrEnum):
    CREATED = "created"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"


class Command(StrEnum):
    SUCCEED = "succeed"
    FAIL = "fail"
    REFUND_PART = "refund_part"  # a refund that leaves some of the amount paid
    REFUND_REST = "refund_rest"  # a refund that returns everything still paid


S, C = PaymentStatus, Command

TRANSITIONS: Mapping[tuple[PaymentStatus, Command], PaymentStatus] = MappingProxyType(
    {
        (S.CREATED, C.SUCCEED): S.SUCCEEDED,
        (S.CREATED, C.FAIL): S.FAILED,
        (S.SUCCEEDED, C.REFUND_PART): S.PARTIALLY_REFUNDED,
        (S.SUCCEEDED, C.REFUND_REST): S.REFUNDED,
        (S.PARTIALLY_REFUNDED, C.REFUND_PART): S.PARTIALLY_REFUNDED,
        (S.PARTIALLY_REFUNDED, C.REFUND_REST): S.REFUNDED,
    }
)
"""``(state, command) -> state after``; a pair missing from the table is refused."""

# Money was taken in these states (a refunded payment still succeeded as a transaction).
PAID: frozenset[PaymentStatus] = frozenset({S.SUCCEEDED, S.PARTIALLY_REFUNDED, S.REFUNDED})
FINAL: frozenset[PaymentStatus] = frozenset({S.FAILED, S.REFUNDED})

# A provider or a desk telling us again what we already know: harmless, nothing changes and nothing is published.
_REPEATS: Mapping[Command, frozenset[PaymentStatus]] = MappingProxyType(
    {C.SUCCEED: PAID, C.FAIL: frozenset({S.FAILED})}
)


class TransitionRefused(Exception):
    def __init__(self, status: PaymentStatus, command: Command) -> None:
        super().__init__(f"cannot {command.value.replace('_', ' ')} a payment that is {status.value.replace('_', ' ')}")
        self.status = status
        self.command = command


class RefundTooLarge(Exception):
    def __init__(self, refundable_vnd: int) -> None:
        super().__init__(f"at most {refundable_vnd} VND can still be refunded")
        self.refundable_vnd = refundable_vnd


def next_status(status: PaymentStatus, command: Command) -> PaymentStatus:
    """The state after ``command``; raises ``TransitionRefused`` when the table does not allow it."""
    try:
        return TRANSITIONS[status, command]
    except KeyError:
        raise TransitionRefused(status, command) from None


def is_repeat(status: PaymentStatus, command: Command) -> bool:
    """``command`` reports the outcome the payment already has (a duplicate callback, a second confirmation)."""
    return status in _REPEATS.get(command, frozenset())


def allowed_commands(status: PaymentStatus) -> list[Command]:
    return [command for command in Command if (status, command) in TRANSITIONS]


def refundable(status: PaymentStatus, amount_vnd: int, refunded_vnd: int) -> int:
    """How much can still be returned: nothing unless money was taken."""
    return amount_vnd - refunded_vnd if status in PAID else 0


@dataclass(frozen=True)
class RefundPlan:
    command: Command
    status: PaymentStatus
    refunded_vnd: int  # total returned after this refund


def plan_refund(status: PaymentStatus, amount_vnd: int, refunded_vnd: int, refund_vnd: int) -> RefundPlan:
    """The effect of returning ``refund_vnd``; raises ``TransitionRefused`` when the payment cannot be refunded
    and ``RefundTooLarge`` when the refund exceeds what is left."""
    if refund_vnd <= 0:
        raise ValueError("a refund is a positive amount")
    if (status, C.REFUND_PART) not in TRANSITIONS:
        raise TransitionRefused(status, C.REFUND_PART)
    left = refundable(status, amount_vnd, refunded_vnd)
    if refund_vnd > left:
        raise RefundTooLarge(left)
    command = C.REFUND_REST if refund_vnd == left else C.REFUND_PART
    return RefundPlan(command, next_status(status, command), refunded_vnd + refund_vnd)
