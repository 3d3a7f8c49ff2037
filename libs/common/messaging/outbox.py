"""Transactional outbox: append events with the state change, publish them later from a relay."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaProducer
from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from libs.common.clock import SYSTEM_CLOCK, Clock
from libs.common.contract import Envelope, EventPayload, make_envelope
from libs.common.contract.envelope import KAFKA_HEADERS
from libs.common.logging import correlation_id, get_logger
from libs.common.messaging.kafka import cancelling as _cancelling
from libs.common.messaging.kafka import close_quietly, ensure_topic_names
from libs.common.messaging.leader import AdvisoryLock
from libs.common.messaging.tables import outbox
from libs.common.metrics import (
    OUTBOX_BACKLOG,
    OUTBOX_OLDEST_AGE,
    OUTBOX_PUBLISH_ERRORS,
    OUTBOX_PUBLISHED,
    OUTBOX_RELAY_LEADER,
)

log = get_logger(__name__)
SESSION_FLAG = "outbox_appended"
_INSERT = insert(outbox)  # built once: every change appends through it


class Outbox:
    """Appends events to the outbox inside the caller's transaction. The caller's boundary commits."""

    def __init__(self, *, source: str, topic_prefix: str, clock: Clock = SYSTEM_CLOCK) -> None:
        self.source = source
        self.topic_prefix = topic_prefix
        self.clock = clock

    def envelopes(self, payloads: Iterable[EventPayload], at: datetime | None = None) -> list[Envelope]:
        cid = correlation_id.get()
        # One reading per envelope, as before the clock existed: events appended together keep distinct times.
        return [make_envelope(p, source=self.source, correlation_id=cid, at=at or self.clock.now()) for p in payloads]

    async def append(self, session: AsyncSession, *payloads: EventPayload) -> list[Envelope]:
        envelopes = self.envelopes(payloads)
        if envelopes:
            await session.execute(
                _INSERT,
                [self.row(env, payload.topic.value) for env, payload in zip(envelopes, payloads, strict=True)],
            )
            session.info[SESSION_FLAG] = True
        return envelopes

    def rows(self, session: AsyncSession, *payloads: EventPayload) -> tuple[list[Envelope], list[dict[str, Any]]]:
        """What ``append`` writes, for a caller that writes the rows itself in one statement with its other writes
        (libs/common/prepared.py); the session is marked as by ``append``, so the relay wakes after the commit."""
        envelopes = self.envelopes(payloads)
        if envelopes:
            session.info[SESSION_FLAG] = True
        return envelopes, [self.row(env, payload.topic.value) for env, payload in zip(envelopes, payloads, strict=True)]

    def row(self, envelope: Envelope, topic_suffix: str) -> dict[str, Any]:
        return {
            "event_id": envelope.id,
            "topic": f"{self.topic_prefix}.{topic_suffix}",
            "key": envelope.subject,
            "type": envelope.type,
            "payload": envelope.model_dump_json(),
            "created_at": envelope.time,  # the event's own instant: consumers group by it (messaging.digest)
        }


class OutboxRelay:
    """Publishes unpublished outbox rows in id order, marks each after the broker's ack, retries with backoff.

    On PostgreSQL only the relay holding a session-level advisory lock publishes, so several replicas of a service
    keep per-key order and never publish the same rows side by side. The lock lives as long as its connection: when
    the database restarts or the connection breaks, the server releases it and another replica may take it at once.
    So before every batch the leader asks, on that connection, whether it still holds the lock (a cheap query with a
    timeout); any failure drops leadership on the spot, and the relay tries to take the lock again once the database
    answers. SQLite is single-process by design.
    """

    LOCK_KEY = 0x6D6F74637561  # "motcua"

    def __init__(
        self,
        *,
        engine: AsyncEngine,
        producer_factory: Any,
        bootstrap_servers: str,
        service: str,
        batch_size: int = 500,
        poll_seconds: float = 0.5,
        max_backoff_seconds: float = 10.0,
        client_options: Mapping[str, Any] | None = None,
        clock: Clock = SYSTEM_CLOCK,
        lock_check_timeout_seconds: float = 5.0,
    ) -> None:
        self.engine = engine
        self.client_options = dict(client_options or {})  # SASL/TLS for the admin client that creates topics
        self.clock = clock
        self.producer_factory = producer_factory
        self.bootstrap_servers = bootstrap_servers
        self.service = service
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        self.max_backoff = max_backoff_seconds
        self._wake = asyncio.Event()
        self._stopped = asyncio.Event()
        self._stopping = False
        self._producer: AIOKafkaProducer | None = None
        self._lock = AdvisoryLock(engine, self.LOCK_KEY, check_timeout_seconds=lock_check_timeout_seconds)

    def wake(self) -> None:
        self._wake.set()

    async def stop(self) -> None:
        self._stopping = True
        self._stopped.set()
        self._wake.set()
        await self._close_producer()
        await self._lock.release()
        OUTBOX_RELAY_LEADER.labels(self.service).set(0)

    async def run(self) -> None:
        try:
            await self._run()
        finally:
            # stop() may have closed the producer while a round was opening a new one: close whatever is left.
            await self._close_producer()

    async def _run(self) -> None:
        backoff = 0.2
        while not self._stopping:
            try:
                published = await self.publish_once()
                backoff = 0.2
                if published == 0:
                    await self._idle()
            except asyncio.CancelledError:
                # aiokafka cancels its own futures when a connection drops; only our task's cancellation stops us.
                if _cancelling():
                    raise
                log.warning("kafka client cancelled internally; restarting")
                await self._close_producer()
                continue
            except Exception as exc:
                OUTBOX_PUBLISH_ERRORS.labels(self.service).inc()
                log.warning("outbox relay failed; retrying", error=repr(exc), backoff_seconds=backoff)
                await self._close_producer()
                await self._sleep(backoff)
                backoff = min(backoff * 2, self.max_backoff)

    async def _idle(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=self.poll_seconds)
        self._wake.clear()

    async def _sleep(self, seconds: float) -> None:
        # Requests waking the relay must not turn a broker outage into a hot loop: only stop() cuts this short.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopped.wait(), seconds)

    async def _ensure_producer(self) -> AIOKafkaProducer:
        if self._producer is None:
            producer = self.producer_factory()
            try:
                await producer.start()
            except BaseException:
                await close_quietly(producer.stop())
                raise
            self._producer = producer
        return self._producer

    async def _close_producer(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            await close_quietly(producer.stop())

    @property
    def is_leader(self) -> bool:
        """Whether this relay held the lock at its last check (always true on SQLite)."""
        return self._lock.leading

    async def _is_leader(self) -> bool:
        was = self._lock.leading
        leads = await self._lock.held()
        if leads != was:
            log.info("relay leadership " + ("taken" if leads else "dropped"), service=self.service)
        OUTBOX_RELAY_LEADER.labels(self.service).set(1 if leads else 0)
        return leads

    async def _still_leader(self) -> bool:
        if await self._lock.still_held():
            return True
        log.warning("relay lost its lock; leadership dropped", service=self.service)
        OUTBOX_RELAY_LEADER.labels(self.service).set(0)
        return False

    async def publish_once(self) -> int:
        """Publish one batch; returns how many rows were published."""
        if not await self._is_leader():
            return 0
        async with self.engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(outbox.c.id, outbox.c.topic, outbox.c.key, outbox.c.payload, outbox.c.created_at)
                    .where(outbox.c.published_at.is_(None))
                    .order_by(outbox.c.id)
                    .limit(self.batch_size)
                )
            ).all()
            backlog = len(rows)
            if backlog == self.batch_size:
                backlog = int(
                    (await conn.execute(select(func.count()).where(outbox.c.published_at.is_(None)))).scalar_one()
                )
        self._observe_backlog(rows, backlog)
        if not rows:
            return 0
        producer = await self._ensure_producer()
        # Ask the cluster (without auto-creating) whether the topics exist before every batch: a memory-storage
        # broker that restarted is an empty cluster, and Tansu acknowledges writes to a topic it does not have.
        metadata = await producer.client.fetch_all_metadata()
        missing = {row.topic for row in rows} - set(metadata.topics())
        if missing:
            await ensure_topic_names(self.bootstrap_servers, missing, **self.client_options)
            await producer.client.force_metadata_update()
        # Check again just before sending: the lock may have gone while the rows were read and the producer opened.
        if self.engine.dialect.name == "postgresql" and not await self._still_leader():
            return 0
        futures = [
            await producer.send(row.topic, value=row.payload.encode(), key=row.key.encode(), headers=KAFKA_HEADERS)
            for row in rows
        ]
        results = await asyncio.gather(*futures, return_exceptions=True)
        acked = [row.id for row, result in zip(rows, results, strict=True) if not isinstance(result, BaseException)]
        failed = [
            (row.id, result) for row, result in zip(rows, results, strict=True) if isinstance(result, BaseException)
        ]
        async with self.engine.begin() as conn:
            if acked:
                await conn.execute(update(outbox).where(outbox.c.id.in_(acked)).values(published_at=self.clock.now()))
            for row_id, error in failed:
                await conn.execute(
                    update(outbox)
                    .where(outbox.c.id == row_id)
                    .values(attempts=outbox.c.attempts + 1, last_error=repr(error)[:2000])
                )
        OUTBOX_PUBLISHED.labels(self.service).inc(len(acked))
        if failed:
            raise RuntimeError(f"{len(failed)} outbox rows not acknowledged: {failed[0][1]!r}")
        return len(acked)

    def _observe_backlog(self, rows: Sequence[Any], backlog: int) -> None:
        OUTBOX_BACKLOG.labels(self.service).set(backlog)
        if rows:
            oldest = rows[0].created_at
            if oldest.tzinfo is None:  # SQLite returns naive UTC
                oldest = oldest.replace(tzinfo=UTC)
            OUTBOX_OLDEST_AGE.labels(self.service).set((self.clock.now() - oldest).total_seconds())
        else:
            OUTBOX_OLDEST_AGE.labels(self.service).set(0)


async def outbox_backlog(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(select(func.count()).where(outbox.c.published_at.is_(None)))).scalar_one())
