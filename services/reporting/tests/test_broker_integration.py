"""Through the real broker: events on the contract's topics reach the compliance report, and a rebuild from the
beginning of the topics gives the identical report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy import func, select

from libs.common.contract.registry import registry, topic_name
from libs.common.db import create_engine, session_factory
from libs.common.messaging.tables import inbox, outbox
from libs.common.testing import AUTH, eventually, running_app
from services.reporting.app import create_app
from services.reporting.config import ReportingSettings
from services.reporting.consumers import CONSUMER
from services.reporting.plans.loader import read_plan_file, seed_files
from services.reporting.rebuild import rebuild
from services.reporting.tests.conftest import PSEUDONYM_KEY
from services.reporting.tests.test_api import province_events

pytestmark = [pytest.mark.asyncio, pytest.mark.integration]
LEADER = AUTH["leader"]
PARAMS: dict[str, Any] = {"plan": "bac-giang-2024-3-kh-ubnd", "year": 2024, "quarter": 1}


def _stable(report: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in report.items() if k != "generated_at"}


async def test_events_reach_the_report_and_a_rebuild_gives_the_same(
    broker: str, topic_prefix: str, reporting_url: str, tmp_path: Path
) -> None:
    settings = ReportingSettings(
        database_url=reporting_url,
        kafka_enabled=True,
        kafka_bootstrap_servers=broker,
        topic_prefix=topic_prefix,
        pseudonym_key=PSEUDONYM_KEY,
        consumer_batch_size=7,  # one dossier's events spread over several batches and topics
        relay_poll_seconds=0.1,
    )
    envelopes = province_events()
    producer = AIOKafkaProducer(bootstrap_servers=broker)
    await producer.start()
    try:
        # payments and ratings first, receipts last: across topics there is no order; some sent twice
        ordered = sorted(envelopes, key=lambda e: e.name != "payments.payment.succeeded")[::-1]
        for e in [*ordered, *ordered[:10]]:
            topic = topic_name(topic_prefix, registry.model(e.name).topic)
            await producer.send_and_wait(topic, e.to_bytes(), key=e.subject.encode())
    finally:
        await producer.stop()

    app = create_app(settings)
    async with running_app(app) as client:
        plan = read_plan_file(next(p for p in seed_files() if p.name.startswith("bac-giang-2024")))
        assert (await client.post("/plans", json=plan, headers=LEADER)).status_code == 201

        inbox_engine = create_engine(reporting_url)

        async def complete() -> dict[str, Any] | None:
            # Compare only once every distinct event sent is in the inbox: across topics there is no order, so a
            # report taken earlier may miss a receipt or a payment that the rebuild would then (rightly) include.
            async with inbox_engine.connect() as conn:
                applied = (
                    await conn.execute(select(func.count()).select_from(inbox).where(inbox.c.consumer == CONSUMER))
                ).scalar_one()
            if applied < len({e.id for e in envelopes}):
                return None
            report = (await client.get("/reports/compliance", params=PARAMS, headers=LEADER)).json()
            rows = {r["indicator"]: r for r in report["sections"][0]["rows"]}
            done = (rows["on_time_rate"]["actual"]["denominator"], rows["late_apology_rate"]["actual"]["denominator"])
            return report if done == (4, 3) else None

        before = await eventually(complete, timeout=30, what="the events to be folded")
        await inbox_engine.dispose()
        on_time = next(r for r in before["sections"][0]["rows"] if r["indicator"] == "on_time_rate")
        assert (on_time["actual"]["numerator"], on_time["actual"]["value"]) == (2, 50.0)

        engine = create_engine(reporting_url)

        async def plan_published() -> bool:
            async with session_factory(engine)() as session:
                unpublished = select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))
                return (await session.execute(unpublished)).scalar_one() == 0

        await eventually(plan_published, timeout=30, what="PlanLoaded to be published")
        await engine.dispose()

        # the service keeps running while the rebuild refolds from offset 0
        result = await rebuild(settings, batch_size=5)
        assert result.messages >= len(envelopes)
        after = (await client.get("/reports/compliance", params=PARAMS, headers=LEADER)).json()
        assert _stable(after) == _stable(before)
        assert len((await client.get("/plans")).json()) == 1  # plans are refolded from their topic too
