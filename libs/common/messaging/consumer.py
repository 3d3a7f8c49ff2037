"""Idempotent consumer: inbox dedupe, one DB transaction per batch, offsets committed after the DB commit.

Redelivery is expected (the local broker has no idempotent producer; a crash between the DB commit and the offset
commit redelivers a batch), so the inbox, not the producer, makes effects exactly-once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener
from aiokafka.admin import AIOKafkaAdminClient
from pydantic import ValidationError
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from libs.common.clock import SYSTEM_CLOCK, Clock
from libs.common.contract.envelope import Envelope
from libs.common.contract.events import EventPayload, Topic
from libs.common.contract.registry import EventRegistry, UnknownEventType, UnsupportedVersion
from libs.common.contract.registry import registry as contract_registry
from libs.common.db import insert_ignoring_conflicts, is_transient, session_factory
from libs.common.logging import correlation_id, get_logger, mask_identity_numbers
from libs.common.messaging.kafka import cancelling as _cancelling
from libs.common.messaging.kafka import close_quietly, ensure_topic_names
from libs.common.messaging.tables import dead_letter, inbox
from libs.common.metrics import (
    BATCH_SECONDS,
    CONSUMER_LAG,
    EVENTS_CONSUMED,
    EVENTS_DUPLICATE,
    EVENTS_FAILED,
    EVENTS_UNKNOWN,
)

log = get_logger(__name__)

BatchHandler = Callable[[AsyncSession, list[Envelope]], Awaitable[None]]
EventHandler = Callable[[AsyncSession, Any, Envelope], Awaitable[None]]


@dataclass(frozen=True)
class Message:
    """The parts of a Kafka record the runner needs (so tests can feed records without a broker)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes


class EventHandlers:
    """Per-type handlers ``async def handle(session, payload, envelope)`` dispatched in order, as one batch handler."""

    def __init__(self, registry: EventRegistry = contract_registry) -> None:
        self._handlers: dict[str, EventHandler] = {}
        self._models: dict[str, type[EventPayload]] = {}
        self.registry = registry

    def using(self, registry: EventRegistry) -> EventHandlers:
        """The same handlers parsing through ``registry`` (the service's keyed registry, for old versions)."""
        bound = EventHandlers(registry)
        bound._handlers, bound._models = self._handlers, self._models
        return bound

    def on(self, model: type[EventPayload]) -> Callable[[EventHandler], EventHandler]:
        def register(fn: EventHandler) -> EventHandler:
            self._handlers[model.event_name] = fn
            self._models[model.event_name] = model
            return fn

        return register

    @property
    def topics(self) -> set[Topic]:
        return {model.topic for model in self._models.values()}

    async def __call__(self, session: AsyncSession, envelopes: list[Envelope]) -> None:
        for envelope in envelopes:
            handler = self._handlers.get(envelope.name)
            if handler is not None:
                await handler(session, self.registry.parse(envelope), envelope)


_UNKNOWN = "unknown event type"
# ``session.info`` key under which the runner leaves the payloads it parsed while checking the batch against the
# contract (event id → payload), for the handler's use during its transaction.
PARSED_PAYLOADS = "motcua.parsed_payloads"


def parsed_payload(session: AsyncSession, envelope: Envelope) -> EventPayload | None:
    """The payload the runner parsed (with its own registry) when it checked ``envelope`` against the contract, or
    None outside a runner's transaction: a batch handler uses it instead of validating every payload a second time."""
    payloads: Mapping[str, EventPayload] = session.info.get(PARSED_PAYLOADS, {})
    return payloads.get(envelope.id)


@dataclass
class PreparedBatch:
    """A fetched batch after decoding and the contract check: what its transaction applies or dead-letters."""

    envelopes: list[tuple[Message, Envelope]]
    rejected: list[tuple[Message, str]]
    parsed: dict[str, EventPayload]


def validation_summary(exc: ValidationError) -> str:
    """The fields and what is wrong with them, without the offending values (they may be personal data)."""
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or '<root>'}: {e['msg']}"
        for e in exc.errors(include_input=False, include_url=False, include_context=False)
    )


def redact(value: bytes) -> str:
    """A record as the dead-letter table keeps it: applicants' names dropped and identity numbers masked, the rest
    whole so that it can be inspected and replayed (docs/operations.md)."""
    text = value.decode(errors="replace")
    try:
        doc = json.loads(text)
    except ValueError:
        # PostgreSQL text cannot hold NUL: a record carrying one must still be dead-lettered, not stall the consumer.
        return mask_identity_numbers(text.replace("\x00", "\ufffd"))
    _drop_applicant_names(doc)
    return mask_identity_numbers(json.dumps(doc, ensure_ascii=False))


def _drop_applicant_names(node: Any) -> None:
    if isinstance(node, dict):
        applicant = node.get("applicant")
        if isinstance(applicant, dict):
            applicant.pop("name", None)
        for child in node.values():
            _drop_applicant_names(child)
    elif isinstance(node, list):
        for child in node:
            _drop_applicant_names(child)


class ClusterChanged(RuntimeError):
    pass


async def _cancel(task: asyncio.Task[Any] | None) -> None:
    """Cancel a prefetch and wait for it to end, without taking its outcome as ours (our own cancellation still
    propagates)."""
    if task is None:
        return
    task.cancel()
    await asyncio.wait([task])
    if not task.cancelled():
        task.exception()  # retrieved: a failed prefetch is superseded by the error being raised


class _RewindOnAssignment(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, runner: ConsumerRunner, consumer: AIOKafkaConsumer) -> None:
        self.runner = runner
        self.consumer = consumer

    async def on_partitions_revoked(self, revoked: Any) -> None:
        return None

    async def on_partitions_assigned(self, assigned: Any) -> None:
        if self.runner._rewind and assigned:
            await self.consumer.seek_to_beginning(*assigned)
            self.runner._rewind = False


class ConsumerRunner:
    def __init__(
        self,
        *,
        name: str,
        engine: AsyncEngine,
        handler: BatchHandler,
        topics: Sequence[str],
        bootstrap_servers: str,
        batch_size: int = 1000,
        group_id: str | None = None,
        max_backoff_seconds: float = 10.0,
        cluster_check_seconds: float = 2.0,
        client_options: Mapping[str, Any] | None = None,
        clock: Clock = SYSTEM_CLOCK,
        registry: EventRegistry = contract_registry,
    ) -> None:
        self.name = name
        self.registry = registry
        self._unknown_logged: set[str] = set()
        self.clock = clock
        self.engine = engine
        self.sessions: async_sessionmaker[AsyncSession] = session_factory(engine)
        self.handler = handler
        self.topics = list(topics)
        self.bootstrap_servers = bootstrap_servers
        self.batch_size = batch_size
        self.group_id = group_id or name
        self.max_backoff = max_backoff_seconds
        self.cluster_check_seconds = cluster_check_seconds
        self.client_options = dict(client_options or {})  # SASL/TLS (libs/common/messaging/security.py)
        self._stopped = asyncio.Event()
        self._consumer: AIOKafkaConsumer | None = None
        self._seen_cluster_id: str | None = None
        self._rewind = False

    # ------------------------------------------------------------------ loop

    async def run(self) -> None:
        backoff = 0.2
        while not self._stopped.is_set():
            try:
                await self._consume()
                backoff = 0.2
            except asyncio.CancelledError:
                # aiokafka cancels its own futures when a connection drops; only our task's cancellation stops us.
                if _cancelling():
                    raise
                log.warning("kafka client cancelled internally; restarting")
                await self._close()
                continue
            except Exception as exc:
                log.warning("consumer failed; restarting", consumer=self.name, error=repr(exc), backoff=backoff)
                await self._close()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopped.wait(), backoff)
                backoff = min(backoff * 2, self.max_backoff)

    async def stop(self) -> None:
        self._stopped.set()
        await self._close()

    async def _close(self) -> None:
        consumer, self._consumer = self._consumer, None
        if consumer is not None:
            await close_quietly(consumer.stop())

    async def _cluster_id(self) -> str:
        admin = AIOKafkaAdminClient(
            bootstrap_servers=self.bootstrap_servers,
            client_id=f"{self.name}-watch",
            request_timeout_ms=5000,
            **self.client_options,
        )
        try:
            await asyncio.wait_for(admin.start(), 10)
            return str((await asyncio.wait_for(admin.describe_cluster(), 10))["cluster_id"])
        finally:
            await close_quietly(admin.close())

    async def _consume(self) -> None:
        await ensure_topic_names(self.bootstrap_servers, self.topics, **self.client_options)
        cluster_id = await self._cluster_id()
        if self._seen_cluster_id is not None and cluster_id != self._seen_cluster_id:
            # Another cluster answers at the same address (a memory-storage broker restarted, a failover to an
            # empty cluster): our positions and its committed offsets mean nothing. Re-read from the beginning;
            # the inbox turns everything already applied into a no-op.
            log.warning(
                "broker cluster changed; re-reading topics from the beginning",
                consumer=self.name,
                previous=self._seen_cluster_id,
                current=cluster_id,
            )
            self._rewind = True
        self._seen_cluster_id = cluster_id
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap_servers,
            group_id=self.group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=self.batch_size,
            metadata_max_age_ms=5000,
            **self.client_options,
        )
        consumer.subscribe(self.topics, listener=_RewindOnAssignment(self, consumer))
        await consumer.start()
        self._consumer = consumer
        loop = asyncio.get_running_loop()
        next_cluster_check = loop.time() + self.cluster_check_seconds
        # The next batch is fetched and decoded while the current one's transaction is in flight (the database
        # works, this process would otherwise wait). Batches are still written one at a time, in fetch order, so a
        # partition's records apply in order; offsets are committed only after their batch's transaction.
        ahead: asyncio.Task[tuple[dict[Any, Any], PreparedBatch] | None] | None = None
        try:
            while not self._stopped.is_set():
                if loop.time() >= next_cluster_check:
                    next_cluster_check = loop.time() + self.cluster_check_seconds
                    if await self._cluster_id() != self._seen_cluster_id:
                        raise ClusterChanged("the broker answering is another cluster")
                if ahead is None:
                    fetched = await self._fetch(consumer)
                else:
                    fetched, ahead = await ahead, None
                if fetched is None:
                    continue
                batch, prepared = fetched
                ahead = asyncio.ensure_future(self._fetch(consumer))
                try:
                    await self.write(prepared)
                except Exception:
                    # Nothing of this batch is committed: rewind so that it (and what was fetched after it) is
                    # delivered again after the backoff.
                    await _cancel(ahead)
                    ahead = None
                    for tp, records in batch.items():
                        consumer.seek(tp, records[0].offset)
                    raise
                offsets = {tp: records[-1].offset + 1 for tp, records in batch.items()}
                await consumer.commit(offsets)
                for tp, next_offset in offsets.items():
                    highwater = consumer.highwater(tp)
                    if highwater is not None:
                        CONSUMER_LAG.labels(self.name, tp.topic, str(tp.partition)).set(max(0, highwater - next_offset))
        finally:
            await _cancel(ahead)

    async def _fetch(self, consumer: AIOKafkaConsumer) -> tuple[dict[Any, Any], PreparedBatch] | None:
        batch = await consumer.getmany(timeout_ms=200, max_records=self.batch_size)
        if not batch:
            return None
        messages = [
            Message(r.topic, r.partition, r.offset, r.key, r.value or b"")
            for records in batch.values()
            for r in records
        ]
        return batch, self.prepare(messages)

    # ------------------------------------------------------------------ one batch

    async def process(self, messages: Sequence[Message]) -> None:
        """Apply a batch: decode, dedupe through the inbox, hand new events to the handler, all in one transaction.

        Every event is checked against the contract first: an envelope or payload that does not validate, or a
        version newer than this consumer knows, goes to the dead-letter table with the reason (never to the
        handler), and so does an event the handler cannot apply; the rest of the batch still applies. An event type
        the contract does not know is counted and logged once per type, and skipped without an inbox row. Transient
        failures (database or network) propagate: the caller retries.
        """
        await self.write(self.prepare(messages))

    def prepare(self, messages: Sequence[Message]) -> PreparedBatch:
        """Decode and check a batch against the contract (pure CPU: no database, no broker)."""
        prepared = PreparedBatch([], [], {})
        seen: set[str] = set()
        for message in messages:
            try:
                envelope = Envelope.from_bytes(message.value)
            except ValidationError as exc:
                prepared.rejected.append((message, f"undecodable envelope: {validation_summary(exc)}"))
                continue
            except ValueError:
                prepared.rejected.append((message, "undecodable envelope: not JSON"))
                continue
            if envelope.id in seen:
                EVENTS_DUPLICATE.labels(self.name).inc()
                continue
            seen.add(envelope.id)
            reason, payload = self._contract_breach(envelope)
            if reason == _UNKNOWN:
                continue
            if reason is not None:
                prepared.rejected.append((message, reason))
                continue
            prepared.envelopes.append((message, envelope))
            if payload is not None:
                prepared.parsed[envelope.id] = payload
        return prepared

    async def write(self, prepared: PreparedBatch) -> None:
        """One transaction: inbox, handler, dead letters; one by one when the batch as a whole fails."""
        started = time.perf_counter()
        envelopes, rejected = prepared.envelopes, prepared.rejected
        try:
            async with self.sessions() as session, session.begin():
                await self._apply(session, [e for _, e in envelopes], prepared.parsed)
                await self._dead_letter(session, rejected)
        except Exception as exc:
            if is_transient(exc):
                raise
            log.warning("batch failed; applying one by one", consumer=self.name, error=repr(exc))
            await self._process_one_by_one(envelopes, rejected, prepared.parsed)
        BATCH_SECONDS.labels(self.name).observe(time.perf_counter() - started)

    def _contract_breach(self, envelope: Envelope) -> tuple[str | None, EventPayload | None]:
        """Why this event must not reach the handler (``_UNKNOWN`` for a type to skip) or None when it may, and the
        payload as parsed when it may."""
        if not self.registry.knows(envelope.name):
            EVENTS_UNKNOWN.labels(self.name, envelope.type).inc()
            if envelope.type not in self._unknown_logged:
                self._unknown_logged.add(envelope.type)
                log.warning("event type unknown to the contract; skipped", consumer=self.name, type=envelope.type)
            return _UNKNOWN, None
        try:
            return None, self.registry.parse(envelope)
        except UnsupportedVersion as exc:
            return f"unsupported version: {exc}", None
        except ValidationError as exc:
            reason = f"payload breaks the contract of {envelope.name} v{envelope.version}: {validation_summary(exc)}"
            return reason, None
        except (UnknownEventType, ValueError) as exc:
            return f"payload cannot be read as {envelope.name}: {exc}", None

    async def _process_one_by_one(
        self,
        envelopes: list[tuple[Message, Envelope]],
        rejected: list[tuple[Message, str]],
        parsed: dict[str, EventPayload],
    ) -> None:
        for message, envelope in envelopes:
            try:
                async with self.sessions() as session, session.begin():
                    await self._apply(session, [envelope], parsed)
            except Exception as exc:
                if is_transient(exc):
                    raise
                log.error(
                    "event dead-lettered", consumer=self.name, event_id=envelope.id, type=envelope.type, error=repr(exc)
                )
                detail = validation_summary(exc) if isinstance(exc, ValidationError) else str(exc)
                rejected.append((message, f"{type(exc).__name__}: {detail}"))
        async with self.sessions() as session, session.begin():
            await self._dead_letter(session, rejected)

    async def _apply(
        self, session: AsyncSession, envelopes: list[Envelope], parsed: Mapping[str, EventPayload] | None = None
    ) -> None:
        if not envelopes:
            return
        fresh_ids = await self._inbox(session, envelopes)
        fresh = [e for e in envelopes if e.id in fresh_ids]
        duplicates = len(envelopes) - len(fresh)
        if duplicates:
            EVENTS_DUPLICATE.labels(self.name).inc(duplicates)
        if not fresh:
            return
        token = correlation_id.set(fresh[0].correlationid)
        session.info[PARSED_PAYLOADS] = parsed or {}
        try:
            await self.handler(session, fresh)
        finally:
            session.info.pop(PARSED_PAYLOADS, None)
            correlation_id.reset(token)
        for envelope in fresh:
            EVENTS_CONSUMED.labels(self.name, envelope.name).inc()

    async def _inbox(self, session: AsyncSession, envelopes: list[Envelope]) -> set[str]:
        """Record the batch's event ids in the inbox; the ids not recorded before (the events to apply)."""
        now = self.clock.now()
        if self.engine.dialect.name == "postgresql":
            # One statement with three parameters, whatever the batch size: the hot path of every consumer.
            # Through SQLAlchemy's connection (not the bare driver), so the statement opens the session's transaction.
            connection = await session.connection()
            rows = await connection.exec_driver_sql(
                "INSERT INTO inbox (consumer, event_id, processed_at) SELECT $1, u, $2 FROM unnest($3::text[]) AS u "
                "ON CONFLICT DO NOTHING RETURNING event_id",
                (self.name, now, [e.id for e in envelopes]),
            )
            return {row[0] for row in rows}
        stmt = insert_ignoring_conflicts(inbox, self.engine.dialect.name).returning(inbox.c.event_id)
        # executemany with RETURNING: SQLAlchemy batches it as multi-row INSERTs ("insertmanyvalues") from one
        # compiled statement, instead of compiling a new 1000-row statement per batch.
        result = await session.execute(
            stmt, [{"consumer": self.name, "event_id": e.id, "processed_at": now} for e in envelopes]
        )
        return set(result.scalars().all())

    async def _dead_letter(self, session: AsyncSession, rejected: list[tuple[Message, str]]) -> None:
        if not rejected:
            return
        now = self.clock.now()
        await session.execute(
            insert(dead_letter),
            [
                {
                    "consumer": self.name,
                    "topic": m.topic,
                    "partition": m.partition,
                    "offset": m.offset,
                    "key": m.key.decode(errors="replace").replace("\x00", "\ufffd") if m.key else None,
                    "value": redact(m.value),
                    "error": mask_identity_numbers(error)[:4000],
                    "failed_at": now,
                }
                for m, error in rejected
            ],
        )
        EVENTS_FAILED.labels(self.name).inc(len(rejected))
        rejected.clear()
