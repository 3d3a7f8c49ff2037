"""Rebuild reporting's projections from the beginning of the topics: ``python -m services.reporting.rebuild``.

Two phases, so that each dossier is folded once, not once per batch that carries one of its events:

1. **Load.** Every projection (ledger, facts, payments, visits, catalogue, agencies, plans) and this consumer's inbox
   and dead letters are cleared in one transaction (TRUNCATE on PostgreSQL: one statement, no dead rows left
   behind); then every partition of every contract topic is read from offset 0 to its true end (``read_to_end``:
   until nothing arrives past the last offset seen, whatever the broker reports as end offsets), without a consumer
   group, through the live consumer's runner — contract check, dead letters, inbox, one transaction per batch — with
   the fold stopped at the ledger (``fold_batch(fold=False)``): dossier events are appended to the ledger, the
   catalogue, agency, queue and plan replicas are written as the live fold writes them. The next batch is decoded
   while the current one is written.
2. **Fold.** Every dossier of the ledger is folded once, in dossier-code order, a chunk of dossiers per transaction:
   lock the chunk's dossiers (the live fold's per-dossier locks, sorted), read their ledgers, fold, write the facts.

The live consumer may keep running (docs/reporting.md, "Rebuild and parity"): the inbox makes an event that both
apply count once; an event the live fold applies during the load is refolded with its dossier in the second phase;
the dossier locks order the second phase's write of a dossier and any live batch on it, and a live batch reads the
whole ledger after the lock, so whichever writes last writes the fact of every event.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from libs.common.contract.envelope import Envelope
from libs.common.contract.events import Topic
from libs.common.contract.registry import EventRegistry, topic_name
from libs.common.db import create_engine, session_factory
from libs.common.messaging.consumer import BatchHandler, ConsumerRunner, Message
from libs.common.messaging.kafka import ensure_topic_names
from libs.common.messaging.replay import read_to_end
from libs.common.messaging.security import kafka_client_options
from libs.common.messaging.tables import dead_letter, inbox
from services.reporting import models
from services.reporting.config import ReportingSettings, get_settings
from services.reporting.consumers import keyed_registry
from services.reporting.fold import repository
from services.reporting.fold.facts import fold_dossier
from services.reporting.fold.handlers import CONSUMER, fold_batch, write_facts

# Dossiers folded per transaction in the second phase (about five events each).
FOLD_CHUNK = 2000


@dataclass(frozen=True)
class RebuildResult:
    messages: int
    partitions: int
    seconds: float
    dossiers: int = 0
    load_seconds: float = 0.0


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


def _loader(registry: EventRegistry) -> BatchHandler:
    async def load(session: AsyncSession, envelopes: list[Envelope]) -> None:
        await fold_batch(session, envelopes, registry, fold=False)

    return load


class _Pipeline:
    """Hands batches to the runner so that the next batch is decoded and checked while the current one is written;
    writes stay one at a time, in order (a second one in flight measured no faster)."""

    def __init__(self, runner: ConsumerRunner) -> None:
        self.runner = runner
        self.writing: asyncio.Task[None] | None = None

    async def __call__(self, messages: list[Message]) -> None:
        prepared = self.runner.prepare(messages)
        await self.drain()
        self.writing = asyncio.ensure_future(self.runner.write(prepared))

    async def drain(self) -> None:
        writing, self.writing = self.writing, None
        if writing is not None:
            await writing


async def fold_every_dossier(engine: AsyncEngine, chunk: int = FOLD_CHUNK, in_flight: int = 2) -> int:
    """The second phase: every dossier of the ledger folded once from its whole ledger; how many dossiers.

    Pages of dossiers are folded in their own transactions, ``in_flight`` at a time, so that one page's reads and
    writes overlap another's folding (pages hold different dossiers: their locks never meet)."""
    if engine.dialect.name != "postgresql":
        in_flight = 1  # SQLite has one writer: a second page would only wait for (or trip over) the first
    sessions = session_factory(engine)
    after: str | None = None
    folded = 0
    running: set[asyncio.Task[None]] = set()
    try:
        while True:
            async with sessions() as session:
                codes = await repository.next_dossiers(session, after, chunk)
            if not codes:
                break
            if len(running) >= in_flight:
                done, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    task.result()  # a failed page fails the rebuild
            running.add(asyncio.ensure_future(_fold_page(engine, codes)))
            after = codes[-1]
            folded += len(codes)
        await asyncio.gather(*running)
    finally:
        for task in running:
            task.cancel()
    return folded


async def _fold_page(engine: AsyncEngine, codes: Sequence[str]) -> None:
    async with session_factory(engine)() as session, session.begin():
        await _fold(session, codes)


async def _fold(session: AsyncSession, codes: Sequence[str]) -> None:
    await repository.lock_fold(session, codes, replicas=False)
    ledgers = await repository.ledgers(session, codes)
    await write_facts(session, [fold_dossier(code, ledgers[code]) for code in codes])


async def rebuild(
    settings: ReportingSettings, *, batch_size: int | None = None, quiet_seconds: float = 2.0
) -> RebuildResult:
    started = time.perf_counter()
    engine = create_engine(settings.database_url, pool_size=4)
    try:
        async with session_factory(engine)() as session, session.begin():
            await clear(session)
        keyed = keyed_registry(settings)
        runner = ConsumerRunner(
            name=CONSUMER,
            registry=keyed,
            engine=engine,
            handler=_loader(keyed),
            topics=[],
            bootstrap_servers=settings.kafka_bootstrap_servers,
        )
        topics = sorted(topic_name(settings.topic_prefix, t) for t in Topic)
        await ensure_topic_names(settings.kafka_bootstrap_servers, topics, **kafka_client_options(settings))
        pipeline = _Pipeline(runner)
        try:
            result = await read_to_end(
                settings.kafka_bootstrap_servers,
                topics,
                pipeline,
                batch_size=batch_size or settings.consumer_batch_size,
                quiet_seconds=quiet_seconds,
                client_options=kafka_client_options(settings),
            )
        finally:
            await pipeline.drain()
        loaded = time.perf_counter()
        dossiers = await fold_every_dossier(engine)
        # All facts are written here, and the day aggregates with them (``handlers.write_facts``): nothing to recount.
        return RebuildResult(
            result.records, result.partitions, time.perf_counter() - started, dossiers, loaded - started
        )
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
    print(
        f"refolded {result.messages} messages from {result.partitions} partitions in {result.seconds:.1f}s "
        f"(load {result.load_seconds:.1f}s, then {result.dossiers} dossiers folded once each)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
