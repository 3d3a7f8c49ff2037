"""Fees of a dossier: the assessment's total and what is still to pay (money is an int number of VND)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from services.payments.domain.states import PAID, PaymentStatus

# Phí (fee, a service charge) and lệ phí (charge, a state levy): the catalogue's FeeItem.kind vocabulary.
KINDS = frozenset({"fee", "charge"})


@dataclass(frozen=True)
class Paid:
    status: PaymentStatus
    amount_vnd: int
    refunded_vnd: int = 0


def total(amounts: Iterable[int]) -> int:
    return sum(amounts)


def net_paid(payments: Iterable[Paid]) -> int:
    """Money kept: what succeeded, less what was refunded."""
    return sum(p.amount_vnd - p.refunded_vnd for p in payments if p.status in PAID)


def outstanding(assessed_vnd: int, payments: Iterable[Paid]) -> int:
    """What is still to pay (negative: overpaid). Intents not yet paid do not count: they may be abandoned."""
    return assessed_vnd - net_paid(payments)
