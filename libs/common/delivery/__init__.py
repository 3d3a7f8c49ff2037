"""Outbound deliveries to systems outside motcua (national portal, SMS, Zalo, e-mail): durable, retried, metered.

A toolkit with no business rule: the service that owns a change enqueues a delivery in the same transaction
(:class:`Deliveries`), and a :class:`DeliveryWorker` sends it later through the target's :class:`Sender`.
"""

from libs.common.delivery.store import SESSION_FLAG, Deliveries, DeliveryStatus
from libs.common.delivery.tables import create_delivery_tables, delivery, delivery_attempt, drop_delivery_tables
from libs.common.delivery.worker import (
    CircuitBreaker,
    CircuitState,
    DeliveryWorker,
    Outcome,
    OutcomeKind,
    RateLimit,
    RetryPolicy,
    Sender,
    Settled,
    Target,
    classify_http,
)

__all__ = [
    "SESSION_FLAG",
    "CircuitBreaker",
    "CircuitState",
    "Deliveries",
    "DeliveryStatus",
    "DeliveryWorker",
    "Outcome",
    "OutcomeKind",
    "RateLimit",
    "RetryPolicy",
    "Sender",
    "Settled",
    "Target",
    "classify_http",
    "create_delivery_tables",
    "delivery",
    "delivery_attempt",
    "drop_delivery_tables",
]
