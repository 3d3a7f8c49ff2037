"""Rebuild reporting's projections from the beginning of the topics: ``python -m services.reporting.rebuild``.

Every projection (ledger, facts, payments, visits, catalogue, agencies, plans) and this consumer's inbox and dead
letters are dropped in one transaction; the end offsets of every partition of every contract topic are captured;
then the topics are read from offset 0 up to those marks, without a consumer group (partitions assigned directly,
no offsets committed), through the same ``ConsumerRunner.process`` — inbox, fold, one transaction per batch — as the
live consumer. Events published after the capture are the live consumer's: the inbox makes an event applied by both
count once, and the fold's lock serialises their batches, so the service may keep running meanwhile.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition

from libs.common.contract.events import Topic
from libs.common.contract.registry import topic_name
from libs.common.db import create_engine, session_factory
from libs.common.messaging.consumer import ConsumerRunner, Message
from libs.common.messaging.kafka import close_quietly, ensure_topic_names
from services.reporting.config import ReportingSettings, get_settings
from services.reporting.fold import repository
from services.reporting.fold.handlers import CONSUMER, make_fold


@dataclass(frozen=True)
class RebuildResult:
    messages: int
    partitions: int
    seconds: float


async def rebuild(settings: ReportingSettings, *, batch_size: int | None = None) -> RebuildResult:
    started = time.perf_counter()
    engine = create_engine(settings.database_url, pool_size=2)
    consumer: AIOKafkaConsumer | None = None
    try:
        async with session_factory(engine)() as session, session.begin():
            await repository.clear_projections(session, CONSUMER)
        runner = ConsumerRunner(
            name=CONSUMER,
            engine=engine,
            handler=make_fold(settings.pseudonym_key),
            topics=[],
            bootstrap_servers=settings.kafka_bootstrap_servers,
        )
        topics = sorted(topic_name(settings.topic_prefix, t) for t in Topic)
        await ensure_topic_names(settings.kafka_bootstrap_servers, topics)
        consumer = AIOKafkaConsumer(
            bootstrap_servers=settings.kafka_bootstrap_servers,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=batch_size or settings.consumer_batch_size,
        )
        await consumer.start()
        partitions = []
        for topic in topics:
            for p in sorted(await _partitions(consumer, topic)):
                partitions.append(TopicPartition(topic, p))
        consumer.assign(partitions)
        ends: dict[TopicPartition, int] = await consumer.end_offsets(partitions)
        await consumer.seek_to_beginning(*partitions)
        pending = {tp for tp, end in ends.items() if end > 0}
        messages = 0
        while pending:
            batch = await consumer.getmany(
                *pending, timeout_ms=500, max_records=batch_size or settings.consumer_batch_size
            )
            chunk = [
                Message(r.topic, r.partition, r.offset, r.key, r.value or b"")
                for tp, records in batch.items()
                for r in records
                if r.offset < ends[tp]
            ]
            if chunk:
                await runner.process(chunk)
                messages += len(chunk)
            for tp in list(pending):
                if await consumer.position(tp) >= ends[tp]:
                    pending.discard(tp)
        return RebuildResult(messages, len(partitions), time.perf_counter() - started)
    finally:
        if consumer is not None:
            await close_quietly(consumer.stop())
        await engine.dispose()


async def _partitions(consumer: AIOKafkaConsumer, topic: str) -> set[int]:
    deadline = time.monotonic() + 10
    while True:
        found = consumer.partitions_for_topic(topic)
        if found:
            return set(found)
        if time.monotonic() > deadline:
            raise RuntimeError(f"no partitions found for topic {topic}")
        await consumer.topics()  # refreshes the cluster metadata
        await asyncio.sleep(0.1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.reporting.rebuild", description=__doc__)
    parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    args = parser.parse_args(argv)
    settings = get_settings()
    if not args.yes:
        answer = input(f"Drop reporting's projections in {settings.database_url} and refold? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            return 1
    result = asyncio.run(rebuild(settings))
    print(f"refolded {result.messages} messages from {result.partitions} partitions in {result.seconds:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
