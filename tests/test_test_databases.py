"""The test databases: a copy reused after another test looks exactly like a new copy of the template."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from libs.common.contract import DossierRated, Rating
from libs.common.db import create_engine
from libs.common.messaging.outbox import Outbox
from libs.common.messaging.tables import outbox
from libs.common.testing import service_database

pytestmark = [pytest.mark.asyncio, pytest.mark.integration]


async def append_and_read(url: str) -> tuple[int, list[int]]:
    """Rows in the outbox before appending two events, then the ids the two got."""
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            before = int((await conn.execute(select(func.count()).select_from(outbox))).scalar_one())
        async with AsyncSession(engine) as session, session.begin():
            at = datetime(2026, 3, 2, tzinfo=UTC)
            await Outbox(source="/test", topic_prefix="t").append(
                session, *[DossierRated(dossier_code=c, rating=Rating.SATISFIED, at=at) for c in ("A", "B")]
            )
        async with engine.connect() as conn:
            ids = list((await conn.execute(select(outbox.c.id).order_by(outbox.c.id))).scalars())
    finally:
        await engine.dispose()
    return before, ids


async def test_a_reused_postgres_copy_has_the_templates_rows_and_sequences(tmp_path: Path) -> None:
    async with service_database("payments", "postgres", tmp_path) as first:
        assert await append_and_read(first) == (0, [1, 2])
    async with service_database("payments", "postgres", tmp_path) as second:
        assert second == first  # the same database, handed on after the reset
        assert await append_and_read(second) == (0, [1, 2])
