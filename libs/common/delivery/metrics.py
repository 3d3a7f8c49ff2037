"""Prometheus metrics of outbound deliveries, by target (alert rules: deploy/prometheus/alerts.yml)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

DELIVERY_BACKLOG = Gauge("motcua_delivery_backlog", "Deliveries pending (due or not yet due)", ["target"])
DELIVERY_OLDEST_AGE = Gauge(
    "motcua_delivery_oldest_due_age_seconds",
    "How long the oldest pending delivery has been due (since its not-before time)",
    ["target"],
)
DELIVERY_ATTEMPTS = Counter("motcua_delivery_attempts_total", "Delivery attempts by outcome", ["target", "outcome"])
DELIVERY_FAILURES = Counter(
    "motcua_delivery_failures_total",
    "Failed delivery attempts by reason (retryable or permanent)",
    ["target", "reason"],
)
DELIVERY_DEAD = Counter("motcua_delivery_dead_letters_total", "Deliveries moved to dead letters", ["target"])
DELIVERY_CIRCUIT = Gauge(
    "motcua_delivery_circuit_state", "Circuit breaker of a target: 0 closed, 1 half-open, 2 open", ["target"]
)
