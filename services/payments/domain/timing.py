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


def creation_problem(at: datetime, now: datetime, *, online: bool) -> str | None:
    """Why ``at`` cannot be when this payment intent was made, or None when it can. A paper (counter, postal)
    request keyed in later keeps its time; an online intent is made by the citizen's own click, so it is now."""
    if online:
        return "an online payment starts when the citizen pays: it takes no earlier time"
    if at > now:
        return "in the future"
    return None


def refund_problem(at: datetime, now: datetime, succeeded_at: datetime | None) -> str | None:
    """Why ``at`` cannot be when money was paid back, or None when it can: not before the payment succeeded."""
    if at > now:
        return "in the future"
    if succeeded_at is not None and at < succeeded_at:
        return f"before the payment succeeded ({succeeded_at.isoformat()})"
    return None
