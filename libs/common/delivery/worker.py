"""The delivery worker: sends due deliveries target by target, with backoff, a circuit breaker and a rate limit.

One leader per target across replicas (a PostgreSQL advisory lock per target), so a target's deliveries go out in
order and none is sent by two replicas. Breaker and rate limit live in the leader's memory, which is enough because
only the leader sends. Each attempt is recorded in its own transaction right after the target answers: a crash
between two sends re-sends at most the one in flight, and the idempotency key travels with it for the target to
recognise.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import IntEnum, StrEnum
from typing import Any, Protocol

import httpx
from sqlalchemy import and_, exists, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from libs.common.db import session_factory
from libs.common.delivery.metrics import (
    DELIVERY_ATTEMPTS,
    DELIVERY_BACKLOG,
    DELIVERY_CIRCUIT,
    DELIVERY_DEAD,
    DELIVERY_FAILURES,
    DELIVERY_OLDEST_AGE,
)
from libs.common.delivery.store import Clock, DeliveryStatus, payload_of, utcnow
from libs.common.delivery.tables import delivery, delivery_attempt
from libs.common.logging import get_logger
from libs.common.messaging.leader import AdvisoryLock, lock_key

log = get_logger(__name__)


class OutcomeKind(StrEnum):
    DELIVERED = "delivered"
    RETRYABLE = "retryable"  # the target is down, overloaded or slow: try again later
    PERMANENT = "permanent"  # the target refused this delivery: retrying the same payload cannot help


@dataclass(frozen=True)
class Outcome:
    """How one attempt ended. ``reason`` is a short, bounded label (a metric label): ``http_503``, ``timeout``."""

    kind: OutcomeKind
    reason: str
    status_code: int | None = None
    response: str | None = None

    @classmethod
    def delivered(cls, status_code: int | None = None, response: str | None = None) -> Outcome:
        return cls(OutcomeKind.DELIVERED, "ok", status_code, response)

    @classmethod
    def retry(cls, reason: str, status_code: int | None = None, response: str | None = None) -> Outcome:
        return cls(OutcomeKind.RETRYABLE, reason, status_code, response)

    @classmethod
    def permanent(cls, reason: str, status_code: int | None = None, response: str | None = None) -> Outcome:
        return cls(OutcomeKind.PERMANENT, reason, status_code, response)


class Sender(Protocol):
    """Turns a payload into a call to the target and classifies the answer. May raise: the worker classifies
    ``httpx`` timeouts and transport errors as retryable, and anything else as retryable ``error``."""

    async def __call__(self, payload: dict[str, Any], idempotency_key: str) -> Outcome: ...


RETRYABLE_HTTP = frozenset({408, 425, 429})


def classify_http(response: httpx.Response) -> Outcome:
    """The usual reading of an HTTP answer: 2xx delivered, 408/425/429/5xx retryable, other 4xx permanent."""
    code = response.status_code
    if 200 <= code < 300:
        return Outcome.delivered(code, response.text)
    if code in RETRYABLE_HTTP or code >= 500:
        return Outcome.retry(f"http_{code}", code, response.text)
    return Outcome.permanent(f"http_{code}", code, response.text)


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter; after ``max_attempts`` retryable failures the delivery is a dead letter."""

    base_seconds: float = 2.0
    max_seconds: float = 900.0
    max_attempts: int = 30

    def delay(self, attempts: int, rng: random.Random) -> float:
        # "Equal jitter": half the exponential step is fixed, half random, so replicas that failed together do not
        # retry together, and no retry comes immediately.
        step = min(self.max_seconds, self.base_seconds * 2.0 ** max(0, attempts - 1))
        return step / 2 + rng.uniform(0, step / 2)


class CircuitState(IntEnum):
    CLOSED = 0
    HALF_OPEN = 1
    OPEN = 2


class CircuitBreaker:
    """Opens after ``failure_threshold`` retryable failures in a row; after ``open_seconds`` lets one trial through
    (half-open): its success closes the circuit, its failure opens it again. While open nothing is attempted, so an
    outage neither hammers the target nor spends the deliveries' retry budgets."""

    def __init__(self, *, failure_threshold: int, open_seconds: float, clock: Clock) -> None:
        self.failure_threshold = failure_threshold
        self.open_seconds = open_seconds
        self.clock = clock
        self.failures = 0
        self.opened_at: datetime | None = None

    @property
    def state(self) -> CircuitState:
        if self.opened_at is None:
            return CircuitState.CLOSED
        if self.clock() - self.opened_at >= timedelta(seconds=self.open_seconds):
            return CircuitState.HALF_OPEN
        return CircuitState.OPEN

    def allows(self) -> bool:
        return self.state is not CircuitState.OPEN

    def record_success(self) -> None:
        self.failures = 0
        self.opened_at = None

    def record_failure(self) -> None:
        self.failures += 1
        if self.state is CircuitState.HALF_OPEN or self.failures >= self.failure_threshold:
            self.opened_at = self.clock()


class RateLimit:
    """A token bucket: at most ``burst`` sends at once, ``per_second`` on average."""

    def __init__(self, *, per_second: float, burst: int, clock: Clock) -> None:
        self.per_second = per_second
        self.burst = burst
        self.clock = clock
        self.tokens = float(burst)
        self.updated_at = clock()

    def take(self) -> bool:
        now = self.clock()
        elapsed = max(0.0, (now - self.updated_at).total_seconds())
        self.tokens = min(float(self.burst), self.tokens + elapsed * self.per_second)
        self.updated_at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


@dataclass(frozen=True)
class Settled:
    """A delivery that reached its end: delivered, or dead-lettered (``outcome`` says which and why)."""

    delivery_id: int
    target: str
    idempotency_key: str
    ordering_key: str | None
    payload: dict[str, Any]
    outcome: Outcome
    attempts: int
    at: datetime


# Called in the transaction that records the end of a delivery, e.g. to append "synchronised to the portal" to the
# service's outbox: the fact and its event commit together or not at all.
OnSettled = Callable[[AsyncSession, Settled], Awaitable[None]]


@dataclass(frozen=True)
class Target:
    """One far end and how to treat it."""

    name: str
    sender: Sender
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    failure_threshold: int = 5
    open_seconds: float = 30.0
    rate_per_second: float | None = None  # None: unlimited
    burst: int = 10
    batch_size: int = 50
    attempt_timeout_seconds: float = 30.0
    on_settled: OnSettled | None = None


@dataclass
class _TargetState:
    target: Target
    lock: AdvisoryLock
    breaker: CircuitBreaker
    rate: RateLimit | None


class DeliveryWorker:
    """Delivers pending rows of every target. ``run()`` loops; tests drive ``deliver_once`` with their own clock."""

    def __init__(
        self,
        *,
        engine: AsyncEngine,
        targets: Sequence[Target],
        clock: Clock = utcnow,
        rng: random.Random | None = None,
        poll_seconds: float = 1.0,
        response_limit: int = 4000,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.rng = rng or random.Random()
        self.poll_seconds = poll_seconds
        self.response_limit = response_limit
        self._sessions = session_factory(engine)
        self._states = {
            t.name: _TargetState(
                target=t,
                lock=AdvisoryLock(engine, lock_key(f"motcua.delivery.{t.name}")),
                breaker=CircuitBreaker(failure_threshold=t.failure_threshold, open_seconds=t.open_seconds, clock=clock),
                rate=RateLimit(per_second=t.rate_per_second, burst=t.burst, clock=clock)
                if t.rate_per_second is not None
                else None,
            )
            for t in targets
        }
        # One event per target: a loop that clears its own cannot swallow another's wake-up.
        self._wakes = {name: asyncio.Event() for name in self._states}
        self._stopped = asyncio.Event()
        self._running: set[str] = set()

    def breaker(self, target: str) -> CircuitBreaker:
        return self._states[target].breaker

    def wake(self) -> None:
        """Call after a commit that enqueued deliveries, so they go out without waiting for the next poll."""
        for event in self._wakes.values():
            event.set()

    async def stop(self) -> None:
        """Ask the loops to stop after the delivery in hand; each releases its lock as it ends (a lock used by a
        running loop is not released from here, as its connection may be busy)."""
        self._stopped.set()
        self.wake()
        for name, state in self._states.items():
            if name not in self._running:
                await state.lock.release()

    async def run(self) -> None:
        async with asyncio.TaskGroup() as group:
            for name in self._states:
                group.create_task(self._run_target(name))

    async def _run_target(self, name: str) -> None:
        self._running.add(name)
        try:
            await self._loop(name)
        finally:
            self._running.discard(name)
            await self._states[name].lock.release()

    async def _loop(self, name: str) -> None:
        backoff = 0.2
        wake = self._wakes[name]
        while not self._stopped.is_set():
            try:
                sent = await self.deliver_once(name)
                backoff = 0.2
                if sent == 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(wake.wait(), timeout=self.poll_seconds)
                    wake.clear()
            except Exception as exc:  # the database is unreachable: keep the worker alive and try again
                log.warning("delivery round failed; retrying", target=name, error=type(exc).__name__)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopped.wait(), backoff)
                backoff = min(backoff * 2, 30.0)

    async def deliver_once(self, name: str) -> int:
        """One round for one target; returns how many attempts were made."""
        state = self._states[name]
        if not await state.lock.held():
            return 0
        now = self.clock()
        rows = await self._due(name, now, state.target.batch_size) if state.breaker.allows() else []
        attempted = 0
        for row in rows:
            if self._stopped.is_set() or not state.breaker.allows():
                break
            trial = state.breaker.state is CircuitState.HALF_OPEN
            if state.rate is not None and not state.rate.take():
                break
            outcome = await self._attempt(state.target, row)
            attempted += 1
            await self._record(state.target, row, outcome)
            if outcome.kind is OutcomeKind.DELIVERED:
                state.breaker.record_success()
            elif outcome.kind is OutcomeKind.RETRYABLE:
                state.breaker.record_failure()
            if trial and outcome.kind is not OutcomeKind.DELIVERED:
                break
        DELIVERY_CIRCUIT.labels(name).set(int(state.breaker.state))
        await self._observe(name)
        return attempted

    async def _due(self, name: str, now: datetime, limit: int) -> Sequence[Any]:
        earlier = delivery.alias("earlier")
        blocked = exists().where(
            and_(
                earlier.c.target == delivery.c.target,
                earlier.c.ordering_key == delivery.c.ordering_key,
                # A dead letter holds back the rest of its stream too, until it is replayed or discarded: sending
                # a dossier's steps to a portal that refused the dossier would only make more dead letters, and
                # the replayed one would then arrive out of order.
                earlier.c.status.in_([DeliveryStatus.PENDING.value, DeliveryStatus.DEAD.value]),
                earlier.c.id < delivery.c.id,
            )
        )
        query = (
            select(
                delivery.c.id,
                delivery.c.idempotency_key,
                delivery.c.ordering_key,
                delivery.c.payload,
                delivery.c.attempts,
            )
            .where(
                delivery.c.target == name,
                delivery.c.status == DeliveryStatus.PENDING.value,
                delivery.c.next_attempt_at <= now,
                ~blocked,
            )
            .order_by(delivery.c.id)
            .limit(limit)
        )
        async with self.engine.connect() as conn:
            return (await conn.execute(query)).all()

    async def _attempt(self, target: Target, row: Any) -> Outcome:
        try:
            async with asyncio.timeout(target.attempt_timeout_seconds):
                return await target.sender(payload_of(row), row.idempotency_key)
        except (TimeoutError, httpx.TimeoutException):
            return Outcome.retry("timeout")
        except httpx.TransportError as exc:
            return Outcome.retry("unreachable", response=type(exc).__name__)
        except Exception as exc:
            # The type only: an exception's text may quote the payload, which can hold personal data.
            log.warning("delivery sender raised", target=target.name, delivery_id=row.id, error=type(exc).__name__)
            return Outcome.retry("error", response=type(exc).__name__)

    async def _record(self, target: Target, row: Any, outcome: Outcome) -> None:
        now = self.clock()
        attempts = row.attempts + 1
        response = outcome.response[: self.response_limit] if outcome.response is not None else None
        values: dict[str, Any] = {
            "attempts": attempts,
            "last_attempt_at": now,
            "last_reason": outcome.reason,
            "last_status_code": outcome.status_code,
            "last_response": response,
        }
        dead = outcome.kind is OutcomeKind.PERMANENT or (
            outcome.kind is OutcomeKind.RETRYABLE and attempts >= target.retry.max_attempts
        )
        if outcome.kind is OutcomeKind.DELIVERED:
            values.update(status=DeliveryStatus.DELIVERED.value, delivered_at=now)
        elif dead:
            values.update(status=DeliveryStatus.DEAD.value, dead_at=now)
        else:
            values["next_attempt_at"] = now + timedelta(seconds=target.retry.delay(attempts, self.rng))
        async with self._sessions() as session, session.begin():
            updated = await session.execute(
                update(delivery)
                .where(delivery.c.id == row.id, delivery.c.status == DeliveryStatus.PENDING.value)
                .values(**values)
            )
            await session.execute(
                insert(delivery_attempt).values(
                    delivery_id=row.id,
                    attempted_at=now,
                    outcome=outcome.kind.value,
                    reason=outcome.reason,
                    status_code=outcome.status_code,
                    response=response,
                )
            )
            settled = outcome.kind is OutcomeKind.DELIVERED or dead
            if settled and target.on_settled is not None and getattr(updated, "rowcount", 1):
                await target.on_settled(
                    session,
                    Settled(
                        delivery_id=row.id,
                        target=target.name,
                        idempotency_key=row.idempotency_key,
                        ordering_key=row.ordering_key,
                        payload=payload_of(row),
                        outcome=outcome,
                        attempts=attempts,
                        at=now,
                    ),
                )
        DELIVERY_ATTEMPTS.labels(target.name, outcome.kind.value).inc()
        if outcome.kind is not OutcomeKind.DELIVERED:
            DELIVERY_FAILURES.labels(target.name, outcome.reason).inc()
        if dead:
            DELIVERY_DEAD.labels(target.name).inc()
            log.warning("delivery dead-lettered", target=target.name, delivery_id=row.id, reason=outcome.reason)

    async def _observe(self, name: str) -> None:
        now = self.clock()
        pending = and_(delivery.c.target == name, delivery.c.status == DeliveryStatus.PENDING.value)
        async with self.engine.connect() as conn:
            backlog = (await conn.execute(select(func.count()).where(pending))).scalar_one()
            oldest = (
                await conn.execute(select(func.min(delivery.c.not_before)).where(pending, delivery.c.not_before <= now))
            ).scalar_one()
        DELIVERY_BACKLOG.labels(name).set(int(backlog))
        age = 0.0
        if oldest is not None:
            age = (now - _aware(oldest)).total_seconds()
        DELIVERY_OLDEST_AGE.labels(name).set(max(0.0, age))


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value
