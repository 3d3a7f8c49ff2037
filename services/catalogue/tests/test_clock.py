"""The catalogue reads "now" from its runtime's clock: a frozen clock decides which day is "today"."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from libs.common.clock import FrozenClock
from libs.common.db import create_engine
from libs.common.messaging.tables import outbox
from libs.common.testing import assert_problem, running_app
from services.catalogue.app import create_app
from services.catalogue.config import CatalogueSettings
from services.catalogue.tests.support import publish

pytestmark = pytest.mark.asyncio

# 23:59 on 31 December 2025 in Asia/Ho_Chi_Minh (UTC+7): the day before the procedure's decision takes effect.
LAST_MINUTE_OF_2025 = datetime(2025, 12, 31, 16, 59, tzinfo=UTC)


async def test_today_and_event_times_come_from_the_runtime_clock(catalogue_url: str) -> None:
    clock = FrozenClock(LAST_MINUTE_OF_2025)
    app = create_app(CatalogueSettings(database_url=catalogue_url, kafka_enabled=False))
    async with running_app(app, clock=clock) as client:
        await publish(client)  # in force from 2026-01-01
        assert_problem(await client.get("/procedures/1.001193"), 404, "procedure_not_in_force")

        clock.advance(timedelta(minutes=1))  # midnight in Hà Nội: 1 January 2026 there, still 31 December in UTC
        response = await client.get("/procedures/1.001193")
        assert response.status_code == 200, response.text
        assert response.json()["version"] == 1

    engine = create_engine(catalogue_url)
    try:
        async with engine.connect() as conn:
            rows = (await conn.execute(select(outbox.c.created_at, outbox.c.payload))).all()
    finally:
        await engine.dispose()
    assert rows
    for row in rows:
        assert row.created_at.replace(tzinfo=UTC) == LAST_MINUTE_OF_2025
        assert datetime.fromisoformat(json.loads(row.payload)["time"]) == LAST_MINUTE_OF_2025
