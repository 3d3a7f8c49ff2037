"""Rebuild reporting's projections from the beginning of the topics: ``python -m services.reporting.rebuild``.

Every projection (ledger, facts, payments, visits, catalogue, agencies, plans) and this consumer's inbox and dead
letters are cleared in one transaction (TRUNCATE on PostgreSQL: one statement, no dead rows left behind); then every
partition of every contract topic is read from offset 0 to its true end (``read_to_end``: until nothing arrives past
the last offset seen, whatever the broker reports as end offsets), without a consumer group, through the same
``ConsumerRunner.process`` — inbox, fold, one transaction per batch — as the live consumer. Events the live consumer
applies meanwhile count once (the inbox), and the fold's lock serialises their batches, so the service may keep
running.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from dataclasses import dataclass

from sqlalchemy import delete, text
from sqlalchemy.ext.asyncio import AsyncSession

from libs.common.contract.events import Topic
from libs.common.contract.registry import topic_name
from libs.common.db import create_engine, session_factory
from libs.common.messaging.consumer import ConsumerRunner
from libs.common.messaging.kafka import ensure_topic_names
from libs.common.messaging.replay import read_to_end
from libs.common.messaging.security import kafka_client_options
from libs.common.messaging.tables import dead_letter, inbox
from services.reporting import models
from services.reporting.config import ReportingSettings, get_settings
from services.reporting.consumers import keyed_registry
from services.reporting.fold import aggregate_store, repository
from services.reporting.fold.handlers import CONSUMER, make_fold


@dataclass(frozen=True)
class RebuildResult:
    messages: int
    partitions: int
    seconds: float


async def clear(session: AsyncSession) -> None:
    """Empty the projections and this consumer's inbox and dead letters before a refold."""
    if session.get_bind().dialect.name != "postgresql":
        await repository.clear_projections(session, CONSUMER)
        return
    tables = ", ".join(f'"{model.__tablename__}"' for model in models.PROJECTIONS)
    await session.execute(text(f"TRUNCATE {tables}"))
    # The inbox and dead-letter tables are shared with any other consumer of this database: only ours go.
    await session.execute(delete(inbox).where(inbox.c.consumer == CONSUMER))
    await session.execute(delete(dead_letter).where(dead_letter.c.consumer == CONSUMER))


async def rebuild(
    settings: ReportingSettings, *, batch_size: int | None = None, quiet_seconds: float = 2.0
) -> RebuildResult:
    started = time.perf_counter()
    engine = create_engine(settings.database_url, pool_size=2)
    try:
        async with session_factory(engine)() as session, session.begin():
            await clear(session)
        keyed = keyed_registry(settings)
        runner = ConsumerRunner(
            name=CONSUMER,
            registry=keyed,
            engine=engine,
            handler=make_fold(keyed),
            topics=[],
            bootstrap_servers=settings.kafka_bootstrap_servers,
        )
        topics = sorted(topic_name(settings.topic_prefix, t) for t in Topic)
        await ensure_topic_names(settings.kafka_bootstrap_servers, topics, **kafka_client_options(settings))
        result = await read_to_end(
            settings.kafka_bootstrap_servers,
            topics,
            runner.process,
            batch_size=batch_size or settings.consumer_batch_size,
            quiet_seconds=quiet_seconds,
            client_options=kafka_client_options(settings),
        )
        async with session_factory(engine)() as session, session.begin():
            await aggregate_store.recount(session)  # the day aggregates, counted once from the refolded facts
        return RebuildResult(result.records, result.partitions, time.perf_counter() - started)
    finally:
        await engine.dispose()


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
