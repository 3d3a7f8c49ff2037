"""Kafka clients on aiokafka, configured for the suite: acks from all replicas, no idempotent producer
(the local Tansu broker has none; consumers' inboxes make effects exactly-once instead)."""

from __future__ import annotations

from collections.abc import Callable

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from libs.common.contract import Topic, topic_name


def producer_factory(bootstrap_servers: str, client_id: str) -> Callable[[], AIOKafkaProducer]:
    def make() -> AIOKafkaProducer:
        return AIOKafkaProducer(
            bootstrap_servers=bootstrap_servers,
            client_id=client_id,
            acks="all",
            linger_ms=2,
            request_timeout_ms=10_000,
            compression_type=None,
        )

    return make


async def ensure_topics(bootstrap_servers: str, prefix: str, partitions: int = 3) -> list[str]:
    """Create every topic of the contract that does not exist yet; returns the names created."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, client_id="motcua-admin")
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [topic_name(prefix, t) for t in Topic]
        missing = [name for name in wanted if name not in existing]
        if missing:
            try:
                await admin.create_topics(
                    [NewTopic(name, num_partitions=partitions, replication_factor=1) for name in missing]
                )
            except TopicAlreadyExistsError:
                pass
        return missing
    finally:
        await admin.close()
