"""Kafka clients on aiokafka, configured for the suite: acks from all replicas, no idempotent producer
(the local Tansu broker has none; consumers' inboxes make effects exactly-once instead)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError


def cancelling() -> bool:
    """Whether the current task is being cancelled by its owner (not by a library cancelling its own futures)."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


async def close_quietly(closing: Awaitable[object], timeout: float = 10.0) -> None:
    """Close a Kafka client that may already be broken.

    aiokafka's ``stop()`` can raise ``CancelledError`` from its own fetch tasks after a connection drops; that must
    not kill the loop that restarts the client, while a real cancellation of our task still propagates.
    """
    try:
        await asyncio.wait_for(closing, timeout)
    except asyncio.CancelledError:
        if cancelling():
            raise
    except Exception:
        pass


def producer_factory(bootstrap_servers: str, client_id: str, **client_options: Any) -> Callable[[], AIOKafkaProducer]:
    def make() -> AIOKafkaProducer:
        return AIOKafkaProducer(
            bootstrap_servers=bootstrap_servers,
            client_id=client_id,
            acks="all",
            linger_ms=2,
            request_timeout_ms=10_000,
            compression_type=None,
            **client_options,
        )

    return make


async def ensure_topic_names(
    bootstrap_servers: str, wanted: Iterable[str], partitions: int = 3, **client_options: Any
) -> list[str]:
    """Create the named topics that do not exist yet.

    Relays and consumers call this whenever they (re)connect: relying on the broker's auto-creation lets a producer
    and a consumer race to create the same topic, and Tansu's memory storage can then drop what was just written.
    """
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap_servers, client_id="motcua-admin", request_timeout_ms=5000, **client_options
    )
    try:
        await asyncio.wait_for(admin.start(), 10)
        existing = set(await asyncio.wait_for(admin.list_topics(), 10))
        missing = sorted({name for name in wanted if name not in existing})
        if missing:
            try:
                await admin.create_topics(
                    [NewTopic(name, num_partitions=partitions, replication_factor=1) for name in missing]
                )
            except TopicAlreadyExistsError:
                pass
        return missing
    finally:
        await close_quietly(admin.close())
