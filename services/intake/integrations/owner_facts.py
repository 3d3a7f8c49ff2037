"""What the owners of a dossier's documents (digitisation) and fees (payments) told intake about it, as plain values
and the pure rules that fold their events in (docs/integrations.md, "Facts from digitisation and payments").

Intake keeps only what the national portal's record needs: per submitted component whether it was digitised and
whether it was taken from the data warehouse, the assessment in force, and each succeeded payment with its channel
and what was refunded of it. Document ids are never kept: digitisation is replacing them with a pseudonymous holder
reference, and the portal does not need them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

ONLINE = "online"  # libs.common.contract.PaymentChannel.ONLINE


@dataclass(frozen=True)
class DocumentFact:
    digitised: bool = False
    reused: bool = False  # taken from the national data warehouse / a connected database


@dataclass(frozen=True)
class AssessedFee:
    name: str
    amount_vnd: int | None  # None: an amount the assessment left open (the portal's record leaves the line out)
    kind: str = "fee"


@dataclass(frozen=True)
class PaymentFact:
    channel: str
    amount_vnd: int
    refunded_vnd: int = 0


@dataclass(frozen=True)
class OwnerFacts:
    documents: Mapping[str, DocumentFact] = field(default_factory=dict)
    fees: tuple[AssessedFee, ...] | None = None  # None: payments has not assessed the fees
    fees_total_vnd: int | None = None
    payments: Mapping[str, PaymentFact] = field(default_factory=dict)

    @property
    def paid_online(self) -> bool:
        """``DuocThanhToanTrucTuyen``: a payment made online that was not wholly refunded."""
        return any(p.channel == ONLINE and p.refunded_vnd < p.amount_vnd for p in self.payments.values())

    @property
    def paid_vnd(self) -> int:
        return sum(p.amount_vnd - p.refunded_vnd for p in self.payments.values())

    def outstanding_vnd(self) -> int:
        """What is still to pay of the assessment in force (0 when none)."""
        return max((self.fees_total_vnd or 0) - self.paid_vnd, 0)


Change = Callable[[OwnerFacts], OwnerFacts]  # what one event does to the facts


def _document(facts: OwnerFacts, component_code: str, **change: bool) -> OwnerFacts:
    current = facts.documents.get(component_code, DocumentFact())
    return replace(facts, documents={**facts.documents, component_code: replace(current, **change)})


def digitised(facts: OwnerFacts, component_code: str) -> OwnerFacts:
    return _document(facts, component_code, digitised=True)


def reused(facts: OwnerFacts, component_code: str) -> OwnerFacts:
    return _document(facts, component_code, reused=True)


def assessed(facts: OwnerFacts, fees: Iterable[AssessedFee], total_vnd: int) -> OwnerFacts:
    """A re-assessment replaces the one in force (payments supersedes it the same way)."""
    return replace(facts, fees=tuple(fees), fees_total_vnd=total_vnd)


def payment_succeeded(facts: OwnerFacts, payment_id: str, channel: str, amount_vnd: int) -> OwnerFacts:
    if payment_id in facts.payments:
        return facts
    return replace(facts, payments={**facts.payments, payment_id: PaymentFact(channel, amount_vnd)})


def payment_refunded(facts: OwnerFacts, payment_id: str, amount_vnd: int) -> OwnerFacts:
    """Each refund event is one refund (the inbox makes a redelivered one count once); a refund of a payment
    intake never saw succeed changes nothing, as payments refunds only succeeded payments."""
    payment = facts.payments.get(payment_id)
    if payment is None:
        return facts
    refunded = min(payment.refunded_vnd + amount_vnd, payment.amount_vnd)
    return replace(facts, payments={**facts.payments, payment_id: replace(payment, refunded_vnd=refunded)})


# ---------------------------------------------------------------- storage form (JSON columns)


def to_columns(facts: OwnerFacts) -> dict[str, Any]:
    return {
        "documents": {c: {"digitised": d.digitised, "reused": d.reused} for c, d in sorted(facts.documents.items())},
        "fees": (
            None
            if facts.fees is None
            else [{"name": f.name, "amount_vnd": f.amount_vnd, "kind": f.kind} for f in facts.fees]
        ),
        "fees_total_vnd": facts.fees_total_vnd,
        "payments": {
            pid: {"channel": p.channel, "amount_vnd": p.amount_vnd, "refunded_vnd": p.refunded_vnd}
            for pid, p in sorted(facts.payments.items())
        },
    }


def from_columns(
    documents: Mapping[str, Any] | None,
    fees: list[dict[str, Any]] | None,
    fees_total_vnd: int | None,
    payments: Mapping[str, Any] | None,
) -> OwnerFacts:
    return OwnerFacts(
        documents={
            c: DocumentFact(digitised=bool(d.get("digitised")), reused=bool(d.get("reused")))
            for c, d in (documents or {}).items()
        },
        fees=(
            None
            if fees is None
            else tuple(AssessedFee(str(f["name"]), f.get("amount_vnd"), str(f.get("kind", "fee"))) for f in fees)
        ),
        fees_total_vnd=fees_total_vnd,
        payments={
            pid: PaymentFact(str(p["channel"]), int(p["amount_vnd"]), int(p.get("refunded_vnd", 0)))
            for pid, p in (payments or {}).items()
        },
    )
