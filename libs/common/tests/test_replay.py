"""A rebuild reads every partition to its true end, even where the broker under-reports end offsets."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest
from aiokafka import AIOKafkaProducer

from libs.common.messaging.consumer import Message
from libs.common.messaging.kafka import ensure_topic_names
from libs.common.messaging.replay import read_to_end
from libs.common.testing import unique_name

pytestmark = [pytest.mark.asyncio, pytest.mark.integration]


async def produce_in_batches(broker: str, topic: str, count: int) -> None:
    """Send without waiting between records, so the producer packs them into multi-record batches."""
    producer = AIOKafkaProducer(bootstrap_servers=broker, linger_ms=20, max_batch_size=64 * 1024)
    await producer.start()
    try:
        futures = [await producer.send(topic, value=f"r{i}".encode(), key=f"k{i % 7}".encode()) for i in range(count)]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def test_a_topic_of_multi_record_batches_is_read_to_its_last_record(broker: str) -> None:
    topics = [unique_name("t.replay"), unique_name("t.replay")]
    await ensure_topic_names(broker, topics, partitions=3)
    for topic in topics:
        await produce_in_batches(broker, topic, 3000)
    seen: Counter[tuple[str, bytes]] = Counter()
    batches = 0

    async def handle(messages: list[Message]) -> None:
        nonlocal batches
        batches += 1
        seen.update((m.topic, m.value) for m in messages)

    result = await read_to_end(broker, topics, handle, batch_size=500, quiet_seconds=1.0)

    assert result.records == 6000 and result.partitions == 6
    assert len(seen) == 6000 and set(seen.values()) == {1}
    assert sum(result.positions.values()) == 6000
    assert batches > 1
