"""Outbox → relay → real Kafka-protocol broker → idempotent consumer, including a broker outage."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable
from datetime import UTC, datetime
from pathlib import Path

import pytest
import pytest_asyncio
from prometheus_client import REGISTRY
from sqlalchemy import Column, MetaData, String, Table, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from libs.common.contract import DossierRated, Envelope, Rating, Topic, topic_name
from libs.common.db import create_engine, insert_ignoring_conflicts
from libs.common.messaging.consumer import ConsumerRunner
from libs.common.messaging.kafka import producer_factory
from libs.common.messaging.outbox import Outbox, OutboxRelay, outbox_backlog
from libs.common.messaging.tables import messaging_metadata
from libs.common.testing import LocalBroker, eventually, unique_name

pytestmark = [pytest.mark.asyncio, pytest.mark.integration]

test_metadata = MetaData()
ratings = Table(
    "ratings", test_metadata, Column("dossier_code", String(40), primary_key=True), Column("rating", String(20))
)


@pytest_asyncio.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    eng = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'svc.db'}")
    async with eng.begin() as conn:
        await conn.run_sync(messaging_metadata.create_all)
        await conn.run_sync(test_metadata.create_all)
    yield eng
    await eng.dispose()


async def store_ratings(session: AsyncSession, envelopes: list[Envelope]) -> None:
    stmt = insert_ignoring_conflicts(ratings, session.get_bind().dialect.name)
    await session.execute(stmt, [{"dossier_code": e.subject, "rating": e.data["rating"]} for e in envelopes])


async def rated_count(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(ratings))).scalar_one())


async def append(engine: AsyncEngine, box: Outbox, codes: list[str]) -> None:
    async with AsyncSession(engine) as session, session.begin():
        await box.append(
            session,
            *[
                DossierRated(dossier_code=c, rating=Rating.SATISFIED, at=datetime(2026, 3, 2, tzinfo=UTC))
                for c in codes
            ],
        )


async def test_events_survive_a_broker_outage_and_redelivery_changes_nothing(
    own_broker: LocalBroker, engine: AsyncEngine
) -> None:
    prefix = unique_name("t")
    service = unique_name("svc")  # its own label on the relay's metrics
    box = Outbox(source="/test", topic_prefix=prefix)
    relay = OutboxRelay(
        engine=engine,
        producer_factory=producer_factory(own_broker.bootstrap, "test"),
        bootstrap_servers=own_broker.bootstrap,
        service=service,
        poll_seconds=0.05,
        max_backoff_seconds=0.5,
    )
    consumer = ConsumerRunner(
        name=unique_name("c"),
        engine=engine,
        handler=store_ratings,
        topics=[topic_name(prefix, Topic.DOSSIERS)],
        bootstrap_servers=own_broker.bootstrap,
        max_backoff_seconds=0.5,
        cluster_check_seconds=0.5,
    )
    tasks = [asyncio.create_task(relay.run()), asyncio.create_task(consumer.run())]
    try:
        await append(engine, box, [f"D-{i}" for i in range(20)])
        await eventually(lambda: _equals(rated_count(engine), 20), what="first 20 events consumed")

        # Broker down: new events wait in the outbox, nothing is lost.
        await own_broker.stop()
        await append(engine, box, [f"E-{i}" for i in range(30)])
        await eventually(lambda: _positive(outbox_backlog(engine)), what="backlog while the broker is down")
        # A real outage, not a race: the relay has tried to publish and failed before the broker comes back.
        failed_before = publish_errors(service)
        await eventually(
            lambda: _true(publish_errors(service) > failed_before), timeout=30, what="a failed relay round"
        )
        assert await outbox_backlog(engine) == 30

        # Broker back (memory storage: empty, topics gone): the relay publishes the backlog, the consumer applies it.
        await own_broker.start()
        await eventually(lambda: _equals(outbox_backlog(engine), 0), timeout=30, what="backlog published")
        await eventually(lambda: _equals(rated_count(engine), 50), timeout=30, what="all 50 applied")
    finally:
        await relay.stop()
        await consumer.stop()
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    assert await rated_count(engine) == 50


def publish_errors(service: str) -> float:
    return REGISTRY.get_sample_value("motcua_outbox_publish_errors_total", {"service": service}) or 0.0


async def _true(value: bool) -> bool:
    return value


async def _equals(value: Awaitable[int], expected: int) -> bool:
    return await value == expected


async def _positive(value: Awaitable[int]) -> bool:
    return await value > 0
