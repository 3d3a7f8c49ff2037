"""Bounded input: a request-body cap per route enforced before the body is read, and a token-bucket rate limit.

Body cap. FastAPI reads and parses a request body before it runs the route's dependencies, authentication included,
so an anonymous client could make a service hold any amount of memory. FastAPI's own ``max_body_size`` (Starlette's
``RequestBodyLimitMiddleware`` around each route) refuses a body whose ``Content-Length`` is over the cap at the first
read, without reading it, and counts the bytes of a chunked body as they arrive, failing at the first chunk past the
cap. The app factory includes every router with ``max_body_size=MOTCUA_BODY_LIMIT_BYTES`` (1 MiB); a route that
takes more (imports) declares its own, which wins: ``@router.post("/imports", max_body_size=64 * MiB)``. The 413 is
problem+json: raised inside the route it goes through the problem handlers, and ``BodyLimitProblems`` rewrites the
one plain-text answer the framework sends by itself.

Rate limit. ``public_rate_limit`` is a dependency for unauthenticated routes (the public look-up): per client
address, a bucket of ``MOTCUA_PUBLIC_RATE_BURST`` tokens refilled at ``MOTCUA_PUBLIC_RATE_PER_MINUTE``; an empty
bucket answers 429 with ``Retry-After``. Behind a reverse proxy run uvicorn with ``--proxy-headers
--forwarded-allow-ips=<proxy>`` so the client address is the caller's, not the proxy's.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from fastapi import Request
from starlette.middleware.body_limit import MAX_BODY_SIZE_SCOPE_KEY
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from libs.common.errors import PROBLEM_JSON, DomainError, problem
from libs.common.settings import ServiceSettings

MiB = 1024 * 1024

PROBLEM_RESPONSE: dict[str, Any] = {"content": {PROBLEM_JSON: {"schema": {"type": "object"}}}}


class BodyLimitProblems:
    """Renders the framework's 413 (a ``text/plain`` "Content Too Large") as problem+json like every other error.

    FastAPI enforces ``max_body_size`` around each route; when a route answers without reading a body whose declared
    length is over the cap, Starlette sends its own plain-text 413 straight through the middleware below the
    exception handlers. This rewrites that one response and leaves every other one alone.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        swallowing = False

        async def rewriting_send(message: Message) -> None:
            nonlocal swallowing
            if message["type"] == "http.response.start" and message["status"] == 413:
                content_type = dict(message.get("headers", [])).get(b"content-type", b"")
                if content_type.startswith(b"text/plain"):
                    swallowing = True
                    response = problem(
                        Request(scope),
                        413,
                        code="payload_too_large",
                        title="Request body too large",
                        detail=_too_large_detail(scope),
                        headers={"Connection": "close"},
                    )
                    await response(scope, _no_receive, send)
                    return
            if swallowing:
                return
            await send(message)

        await self.app(scope, receive, rewriting_send)


def _too_large_detail(scope: Scope) -> str:
    limit = scope.get(MAX_BODY_SIZE_SCOPE_KEY)
    return f"The request body is larger than this route accepts ({limit} bytes)" if limit else "Request body too large"


async def _no_receive() -> Message:
    return {"type": "http.disconnect"}


# --- Rate limit ---------------------------------------------------------------------------------------------------


class TooManyRequests(DomainError):
    status, code, title = 429, "too_many_requests", "Too many requests"


class TokenBuckets:
    """One token bucket per key: ``burst`` tokens, refilled at ``per_second``; the least recently seen keys are
    forgotten past ``max_keys`` (a forgotten key starts again with a full bucket)."""

    def __init__(
        self, *, per_second: float, burst: int, max_keys: int = 100_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if per_second <= 0 or burst < 1:
            raise ValueError("a rate limit needs a positive rate and a burst of at least 1")
        self.per_second = per_second
        self.burst = burst
        self.max_keys = max_keys
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def take(self, key: str) -> float:
        """Take a token for ``key``: 0 when granted, else the seconds until one is available."""
        now = self._clock()
        tokens, at = self._buckets.pop(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - at) * self.per_second)
        wait = 0.0
        if tokens >= 1.0:
            tokens -= 1.0
        else:
            wait = (1.0 - tokens) / self.per_second
        self._buckets[key] = (tokens, now)
        while len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)
        return wait


def _public_buckets(request: Request) -> TokenBuckets:
    state = request.app.state
    buckets: TokenBuckets | None = getattr(state, "public_rate_buckets", None)
    if buckets is None:
        settings: ServiceSettings = state.runtime.settings
        buckets = TokenBuckets(per_second=settings.public_rate_per_minute / 60, burst=settings.public_rate_burst)
        state.public_rate_buckets = buckets
    return buckets


async def public_rate_limit(request: Request) -> None:
    """Dependency of the public, unauthenticated routes: 429 with ``Retry-After`` past the per-address rate."""
    client = request.client.host if request.client else "unknown"
    wait = _public_buckets(request).take(client)
    if wait > 0:
        seconds = max(1, math.ceil(wait))
        raise TooManyRequests(
            f"Too many requests from this address; try again in {seconds} s", headers={"Retry-After": str(seconds)}
        )


BODY_LIMITED_RESPONSES: dict[int | str, dict[str, Any]] = {
    413: {"description": "The request body is over the route's cap"} | PROBLEM_RESPONSE
}
RATE_LIMITED_RESPONSES: dict[int | str, dict[str, Any]] = {
    429: {"description": "Too many requests from this address (see Retry-After)"} | PROBLEM_RESPONSE
}
