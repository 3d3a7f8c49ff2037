"""Fault: reporting's consumer killed in the middle of a batch (its transaction has written inbox rows and waits on
a lock in the fold), then the service started again on the same database and consumer group. Nothing of the killed
batch may stay half-applied: after the restart every event is in the inbox once and folded once."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy import func, select, text

from libs.common.contract.registry import registry, topic_name
from libs.common.db import create_engine
from libs.common.messaging.tables import dead_letter, inbox
from libs.common.testing import eventually, running_app, service_database
from services.reporting import models as m
from services.reporting.app import create_app
from services.reporting.config import ReportingSettings
from services.reporting.consumers import CONSUMER
from services.reporting.fold.ledger import DOSSIER_EVENTS
from services.reporting.tests.conftest import PSEUDONYM_KEY
from services.reporting.tests.test_api import province_events

pytestmark = [pytest.mark.asyncio, pytest.mark.integration]
LEDGER_NAMES = {model.event_name for model in DOSSIER_EVENTS}


async def test_killed_mid_batch_then_restarted_counts_exact(broker: str, topic_prefix: str, tmp_path: Path) -> None:
    envelopes = province_events()
    ids = {e.id for e in envelopes}
    in_ledger = {e.id for e in envelopes if e.name in LEDGER_NAMES}
    dossiers = {e.subject for e in envelopes if e.name in LEDGER_NAMES}
    producer = AIOKafkaProducer(bootstrap_servers=broker)
    await producer.start()
    try:
        for e in envelopes:
            topic = topic_name(topic_prefix, registry.model(e.name).topic)
            await producer.send_and_wait(topic, e.to_bytes(), key=e.subject.encode())
    finally:
        await producer.stop()

    async with service_database("reporting", "postgres", tmp_path) as url:
        settings = ReportingSettings(
            database_url=url,
            kafka_enabled=True,
            kafka_bootstrap_servers=broker,
            topic_prefix=topic_prefix,
            pseudonym_key=PSEUDONYM_KEY,
            consumer_batch_size=4,
        )
        engine = create_engine(url)

        async def count(query: object) -> int:
            async with engine.connect() as conn:
                return int((await conn.execute(query)).scalar_one())  # type: ignore[call-overload]

        try:
            # Hold the ledger table: the first batch with a dossier event blocks inside its transaction.
            async with engine.connect() as holder:
                await holder.execute(text("LOCK TABLE dossier_event IN ACCESS EXCLUSIVE MODE"))
                app = create_app(settings)
                async with running_app(app):

                    async def blocked() -> bool:
                        waiting = text(
                            "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                            "WHERE c.relname = 'dossier_event' AND NOT l.granted"
                        )
                        return await count(waiting) > 0

                    await eventually(blocked, timeout=30, what="a batch waiting on the ledger")
                    # Kill the consumer there, mid-batch, as a crash would.
                    task = next(t for t in app.state.runtime.tasks if t.get_name() == f"reporting-{CONSUMER}")
                    task.cancel()
                    await asyncio.gather(task, return_exceptions=True)
                await holder.rollback()

            applied = await count(select(func.count()).select_from(inbox).where(inbox.c.consumer == CONSUMER))
            folded = await count(select(func.count()).select_from(m.DossierEvent))
            assert applied < len(ids) and folded == 0  # the killed batch left no trace

            async with running_app(create_app(settings)):

                async def all_applied() -> bool:
                    query = select(func.count()).select_from(inbox).where(inbox.c.consumer == CONSUMER)
                    return await count(query) == len(ids)

                await eventually(all_applied, timeout=30, what="every event applied after the restart")
            assert await count(select(func.count()).select_from(m.DossierEvent)) == len(in_ledger)
            assert await count(select(func.count()).select_from(m.DossierFact)) == len(dossiers)
            assert await count(select(func.count()).select_from(dead_letter)) == 0
        finally:
            await engine.dispose()
