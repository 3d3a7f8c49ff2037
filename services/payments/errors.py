from __future__ import annotations

from libs.common.errors import Conflict, InvalidInput, NotFound, Unauthorized


class PaymentNotFound(NotFound):
    code = "payment_not_found"


class ProviderUnknown(NotFound):
    code = "provider_unknown"


class BadSignature(Unauthorized):
    code = "bad_signature"
    title = "Signature does not verify"


class IdempotencyKeyReused(Conflict):
    """The same Idempotency-Key was sent with a different request."""

    code = "idempotency_key_reused"


class TransitionNotAllowed(Conflict):
    """The payment's state does not allow the command (services/payments/domain/states.py)."""

    code = "transition_not_allowed"


class RefundExceedsPayment(Conflict):
    code = "refund_exceeds_payment"


class AmountExceedsOutstanding(Conflict):
    code = "amount_exceeds_outstanding"


class AmountMismatch(Conflict):
    """A provider reports a success for another amount than the intent's."""

    code = "amount_mismatch"


class ProviderMismatch(Conflict):
    """A provider reports on a payment that is not theirs."""

    code = "provider_mismatch"


class PaymentRejected(InvalidInput):
    code = "payment_rejected"


class StatementRejected(InvalidInput):
    code = "statement_rejected"


class DossierNotFound(NotFound):
    """A dossier outside the caller's agency scope: the same answer as for a dossier payments knows nothing of."""

    code = "dossier_not_found"
