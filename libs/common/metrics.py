"""Prometheus metrics every service exposes on ``/metrics``.

Metric objects live at module level (one registry per process, one service per process); the ``service`` label
keeps them apart when tests run several apps in one interpreter.
"""

from __future__ import annotations

import time

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUESTS = Counter("motcua_http_requests_total", "HTTP requests", ["service", "method", "route", "status"])
REQUEST_LATENCY = Histogram(
    "motcua_http_request_duration_seconds",
    "HTTP request latency",
    ["service", "method", "route"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
OUTBOX_BACKLOG = Gauge("motcua_outbox_backlog", "Outbox rows not yet published", ["service"])
OUTBOX_OLDEST_AGE = Gauge(
    "motcua_outbox_oldest_unpublished_age_seconds", "Age of the oldest unpublished outbox row", ["service"]
)
OUTBOX_PUBLISHED = Counter("motcua_outbox_published_total", "Outbox rows published", ["service"])
OUTBOX_RELAY_LEADER = Gauge(
    "motcua_outbox_relay_leader", "1 while this replica's relay holds the outbox lock (PostgreSQL)", ["service"]
)
OUTBOX_PUBLISH_ERRORS = Counter("motcua_outbox_publish_errors_total", "Failed relay rounds", ["service"])
EVENTS_CONSUMED = Counter(
    "motcua_events_consumed_total", "Events applied by a consumer (duplicates excluded)", ["consumer", "type"]
)
EVENTS_DUPLICATE = Counter("motcua_events_duplicate_total", "Redelivered events skipped by the inbox", ["consumer"])
EVENTS_UNKNOWN = Counter(
    "motcua_events_unknown_total", "Events of a type the contract does not know, skipped", ["consumer", "type"]
)
EVENTS_FAILED = Counter("motcua_events_failed_total", "Events sent to the dead-letter table", ["consumer"])
CONSUMER_LAG = Gauge(
    "motcua_consumer_lag", "Messages behind the partition's high-water mark", ["consumer", "topic", "partition"]
)
# Drift between a consumer's projections and a producer's outbox (services/reporting/drift.py, messaging.digest).
DRIFT_EVENTS = Gauge(
    "motcua_drift_events",
    "At the last drift check: events missing here, events unknown to the producer, dossiers that differ",
    ["producer", "kind"],
)
DRIFT_REPUBLISHED = Counter(
    "motcua_drift_republished_total", "Outbox rows the producer handed back to its relay on request", ["producer"]
)
DRIFT_CHECKS = Counter("motcua_drift_checks_total", "Drift checks by result (ok, failed)", ["producer", "result"])
BATCH_SECONDS = Histogram("motcua_consumer_batch_seconds", "Time to apply one consumed batch", ["consumer"])


def metrics_router() -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/metrics", operation_id="metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router


class MetricsMiddleware:
    """Counts and times requests by route template (``/dossiers/{code}``), never by raw path."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            route = _route_template(scope)
            method = scope["method"]
            REQUESTS.labels(self.service, method, route, str(status)).inc()
            REQUEST_LATENCY.labels(self.service, method, route).observe(time.perf_counter() - start)


def _route_template(scope: Scope) -> str:
    # The router records the matched route in the scope; FastAPI's included routers are not themselves routes with
    # a path, so matching the app's top-level routes alone would miss every included route.
    matched = getattr(scope.get("route"), "path", None)
    if isinstance(matched, str):
        return matched
    app = scope.get("app")
    router = getattr(app, "router", None)
    for route in getattr(router, "routes", []):
        match, _ = route.matches(scope)
        if match is Match.FULL:
            return str(getattr(route, "path", "unmatched"))
    return "unmatched"
