"""One relay leader, provably: two relays on one outbox, PostgreSQL restarted mid-run, no event published twice.

The test runs a PostgreSQL cluster of its own (``scripts/postgres.sh`` on a free port) so it can restart it: the
restart cuts every connection, which releases the leader's advisory lock on the server. A relay that kept believing
it led would publish alongside the one that takes the lock next, and every event after the restart would reach the
broker twice.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import pytest_asyncio
from aiokafka import AIOKafkaConsumer, TopicPartition
from sqlalchemy.ext.asyncio import AsyncEngine

from libs.common.contract.envelope import Envelope
from libs.common.contract.events import DossierRated, Rating, Topic
from libs.common.contract.registry import topic_name
from libs.common.db import create_engine, session_factory
from libs.common.messaging.kafka import producer_factory
from libs.common.messaging.outbox import Outbox, OutboxRelay, outbox_backlog
from libs.common.messaging.tables import messaging_metadata
from libs.common.testing import (
    HeldPort,
    create_postgres_database,
    eventually,
    postgres_server_url,
    unique_name,
)

pytestmark = [pytest.mark.asyncio, pytest.mark.integration]

SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "postgres.sh"


async def postgres(action: str, port: int) -> None:
    process = await asyncio.create_subprocess_exec(
        str(SCRIPT), action, str(port), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    output, _ = await process.communicate()
    assert process.returncode == 0, output.decode()


@pytest_asyncio.fixture
async def own_postgres() -> AsyncIterator[int]:
    """A throwaway cluster this test may restart (skips where ``make test`` has not provided PostgreSQL)."""
    if postgres_server_url() is None:
        pytest.skip("PostgreSQL not available (make test provides it)")
    held = HeldPort()  # PostgreSQL binds it with SO_REUSEADDR; no other test can take it, restarts included
    await postgres("start", held.port)
    try:
        yield held.port
    finally:
        await postgres("stop", held.port)
        held.close()


async def append(engine: AsyncEngine, box: Outbox, codes: list[str]) -> list[str]:
    at = datetime(2026, 3, 2, 3, tzinfo=UTC)
    async with session_factory(engine)() as session, session.begin():
        envelopes = await box.append(
            session, *[DossierRated(dossier_code=c, rating=Rating.SATISFIED, at=at) for c in codes]
        )
    return [e.id for e in envelopes]


async def records_per_event(bootstrap: str, topic: str, expected: int) -> Counter[str]:
    """Every record of ``topic`` counted by event id, read until ``expected`` distinct ids have arrived."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        seen: Counter[str] = Counter()

        async def all_arrived() -> bool:
            for records in (await consumer.getmany(timeout_ms=200)).values():
                seen.update(Envelope.from_bytes(r.value or b"").id for r in records)
            return len(seen) >= expected

        await eventually(all_arrived, timeout=30, what=f"{expected} events on {topic}")
        # Anything a second leader sent is on the topic by now: the backlog was 0, so every send was acknowledged.
        for records in (await consumer.getmany(timeout_ms=500)).values():
            seen.update(Envelope.from_bytes(r.value or b"").id for r in records)
        return seen
    finally:
        await consumer.stop()


async def _backlog_is(engine: AsyncEngine, expected: int) -> bool:
    return await outbox_backlog(engine) == expected


async def test_two_relays_publish_each_event_once_across_a_postgres_restart(own_postgres: int, broker: str) -> None:
    url = await create_postgres_database(f"postgresql+asyncpg://postgres@127.0.0.1:{own_postgres}/postgres", "relay")
    engines = [create_engine(url, pool_size=2) for _ in range(3)]
    writer, *replicas = engines
    async with writer.begin() as conn:
        await conn.run_sync(messaging_metadata.create_all)
    prefix = unique_name("t")
    box = Outbox(source="/test", topic_prefix=prefix)
    relays = [
        OutboxRelay(
            engine=engine,
            producer_factory=producer_factory(broker, f"relay-{i}"),
            bootstrap_servers=broker,
            service=f"relay-test-{i}",
            batch_size=20,
            poll_seconds=0.02,
            max_backoff_seconds=0.3,
            lock_check_timeout_seconds=2,
        )
        for i, engine in enumerate(replicas)
    ]
    tasks = [asyncio.create_task(r.run()) for r in relays]
    ids: list[str] = []
    try:
        for round_ in range(5):
            ids += await append(writer, box, [f"A-{round_}-{i}" for i in range(20)])
        await eventually(lambda: _backlog_is(writer, 0), timeout=30, what="first events published")
        assert sum(r.is_leader for r in relays) == 1

        await postgres("restart", own_postgres)

        async def appended_after_restart() -> bool:
            try:
                ids.extend(await append(writer, box, [f"B-{i}" for i in range(20)]))
            except Exception:
                return False  # the writer's pooled connections died with the restart; the next try gets new ones
            return True

        await eventually(appended_after_restart, timeout=30, what="database back after the restart")
        for round_ in range(9):
            ids += await append(writer, box, [f"C-{round_}-{i}" for i in range(20)])
        await eventually(lambda: _backlog_is(writer, 0), timeout=30, what="events after the restart published")

        seen = await records_per_event(broker, topic_name(prefix, Topic.DOSSIERS), len(ids))
        assert set(seen) == set(ids)
        duplicated = {event_id: n for event_id, n in seen.items() if n > 1}
        assert duplicated == {}, f"{len(duplicated)} of {len(ids)} events published more than once"
        # Leadership was re-acquired after the restart, by exactly one of the two relays.
        await eventually(lambda: _one_leader(relays), timeout=10, what="one leader after the restart")
    finally:
        for relay in relays:
            await relay.stop()
        await asyncio.gather(*tasks, return_exceptions=True)
        for engine in engines:
            await engine.dispose()


async def _one_leader(relays: list[OutboxRelay]) -> bool:
    return sum(r.is_leader for r in relays) == 1
