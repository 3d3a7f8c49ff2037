"""Reconciliation of a provider's statement with the payments motcua recorded.

Every line of the statement is matched by payment id. A line motcua does not know is *missing in motcua* (money the
provider took that no dossier shows: usually a callback that never arrived at all). A payment that took money in
motcua (within the statement's period) but is not on the statement is *missing in statement*. A line whose amount
differs is an *amount mismatch*. A line with the same amount whose status disagrees is a *status mismatch*: most
often a success the provider reports while motcua still waits (``created``), i.e. a lost callback.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from services.payments.domain.states import PAID, PaymentStatus


class StatementStatus(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    REFUNDED = "refunded"


S = PaymentStatus

# Which of our states a statement status agrees with. A partly refunded payment may be listed either way.
AGREES: dict[StatementStatus, frozenset[PaymentStatus]] = {
    StatementStatus.SUCCEEDED: frozenset({S.SUCCEEDED, S.PARTIALLY_REFUNDED}),
    StatementStatus.REFUNDED: frozenset({S.REFUNDED, S.PARTIALLY_REFUNDED}),
    StatementStatus.FAILED: frozenset({S.FAILED}),
}


@dataclass(frozen=True)
class Recorded:
    """A payment as motcua recorded it. ``in_period``: it took money within the statement's period."""

    payment_id: str
    amount_vnd: int
    status: PaymentStatus
    in_period: bool = True


@dataclass(frozen=True)
class Line:
    payment_id: str
    amount_vnd: int
    status: StatementStatus


@dataclass(frozen=True)
class Mismatch:
    payment_id: str
    recorded_amount_vnd: int
    statement_amount_vnd: int
    recorded_status: PaymentStatus
    statement_status: StatementStatus


@dataclass
class Reconciliation:
    matched: list[str] = field(default_factory=list)
    missing_in_motcua: list[Line] = field(default_factory=list)
    missing_in_statement: list[Recorded] = field(default_factory=list)
    amount_mismatch: list[Mismatch] = field(default_factory=list)
    status_mismatch: list[Mismatch] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not (self.missing_in_motcua or self.missing_in_statement or self.amount_mismatch or self.status_mismatch)


class DuplicateLine(Exception):
    def __init__(self, index: int, payment_id: str) -> None:
        super().__init__(f"payment {payment_id} is listed more than once (line {index})")
        self.index = index
        self.payment_id = payment_id


def reconcile(recorded: Iterable[Recorded], statement: Iterable[Line]) -> Reconciliation:
    """Compare a statement with motcua's payments of the same provider; every list is sorted by payment id.

    Raises ``DuplicateLine`` when the statement lists a payment twice (a statement to fix, not to guess about).
    """
    ours = {r.payment_id: r for r in recorded}
    lines: dict[str, Line] = {}
    for index, line in enumerate(statement):
        if line.payment_id in lines:
            raise DuplicateLine(index, line.payment_id)
        lines[line.payment_id] = line
    result = Reconciliation()
    for payment_id in sorted(lines):
        line = lines[payment_id]
        mine = ours.get(payment_id)
        if mine is None:
            result.missing_in_motcua.append(line)
            continue
        mismatch = Mismatch(payment_id, mine.amount_vnd, line.amount_vnd, mine.status, line.status)
        if mine.amount_vnd != line.amount_vnd:
            result.amount_mismatch.append(mismatch)
        elif mine.status not in AGREES[line.status]:
            result.status_mismatch.append(mismatch)
        else:
            result.matched.append(payment_id)
    result.missing_in_statement = [
        ours[pid] for pid in sorted(ours) if pid not in lines and ours[pid].in_period and ours[pid].status in PAID
    ]
    return result
