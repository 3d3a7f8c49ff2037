"""Read topics from their first record to their true end, for rebuilds that must not stop short.

The end offsets a broker reports are not a safe stop mark: the local Tansu broker answers the end-offset request with
the last record batch's base offset + 1, so a reader that stops there loses the rest of every multi-record batch
(a rebuild refolded 194,551 of 200,000 events that way). Here a partition is read until nothing arrives past the
last offset seen for a quiet period, and never before its position has passed the reported end offset (a lower
bound on every broker).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from libs.common.messaging.consumer import Message
from libs.common.messaging.kafka import close_quietly


@dataclass(frozen=True)
class ReadResult:
    records: int
    partitions: int
    # The next offset of each partition once it was read to its end (last offset seen + 1).
    positions: dict[TopicPartition, int]


async def read_to_end(
    bootstrap_servers: str,
    topics: Sequence[str],
    handle: Callable[[list[Message]], Awaitable[None]],
    *,
    batch_size: int = 1000,
    quiet_seconds: float = 2.0,
    poll_ms: int = 250,
    client_options: Mapping[str, Any] | None = None,
) -> ReadResult:
    """Hand every record of ``topics`` to ``handle`` in batches, from offset 0 to the end, without a consumer group.

    Done when no record arrived for ``quiet_seconds`` and every partition's position is at least its reported end
    offset. Records produced meanwhile are read too, so a busy topic takes longer, never less.
    """
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=batch_size,
        **dict(client_options or {}),  # SASL/TLS (libs/common/messaging/security.py)
    )
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for topic in topics for p in sorted(await _partitions(consumer, topic))]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        loop = asyncio.get_running_loop()
        records = 0
        quiet_until = loop.time() + quiet_seconds
        while True:
            batch = await consumer.getmany(*partitions, timeout_ms=poll_ms, max_records=batch_size)
            chunk = [
                Message(r.topic, r.partition, r.offset, r.key, r.value or b"")
                for tp_records in batch.values()
                for r in tp_records
            ]
            if chunk:
                await handle(chunk)
                records += len(chunk)
                quiet_until = loop.time() + quiet_seconds
                continue
            if loop.time() < quiet_until:
                continue
            reported = await consumer.end_offsets(partitions)
            positions = {tp: await consumer.position(tp) for tp in partitions}
            if all(positions[tp] >= end for tp, end in reported.items()):
                return ReadResult(records, len(partitions), positions)
            quiet_until = loop.time() + quiet_seconds  # the broker holds more than arrived yet: keep reading
    finally:
        await close_quietly(consumer.stop())


async def _partitions(consumer: AIOKafkaConsumer, topic: str, timeout: float = 10.0) -> set[int]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        found = consumer.partitions_for_topic(topic)
        if found:
            return set(found)
        if loop.time() > deadline:
            raise RuntimeError(f"no partitions found for topic {topic}")
        await consumer.topics()  # refreshes the cluster metadata
        await asyncio.sleep(0.1)
