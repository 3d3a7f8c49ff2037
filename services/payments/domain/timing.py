"""When a payment event happened (docs/payments.md §Time): a step recorded later (a counter receipt keyed in the
next morning, a provider's late callback) keeps the time it happened, so it lands in the right reporting period;
nothing happens in the future and no payment succeeds or fails before it was created."""

from __future__ import annotations

from datetime import datetime


def problem(at: datetime, now: datetime, created_at: datetime) -> str | None:
    """Why ``at`` cannot be the time of this payment's outcome, or None when it can."""
    if at > now:
        return "in the future"
    if at < created_at:
        return f"before the payment was created ({created_at.isoformat()})"
    return None
