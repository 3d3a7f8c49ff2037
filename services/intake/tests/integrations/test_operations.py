"""deploy/deliveries.py: an operator lists dead letters with the target's answer, replays and discards them."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest
from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy import select, update

from libs.common.db import create_engine, session_factory, transaction
from libs.common.delivery import Deliveries, create_delivery_tables, delivery

ROOT = Path(__file__).resolve().parents[4]
pytestmark = pytest.mark.asyncio


async def run(url: str, *args: str) -> str:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(ROOT / "deploy" / "deliveries.py"),
        "intake",
        *args,
        cwd=ROOT,
        env=os.environ | {"MOTCUA_INTAKE_DATABASE_URL": url, "PYTHONPATH": str(ROOT)},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    return out.decode()


async def test_list_replay_discard(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'intake.db'}"
    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(lambda sync: create_delivery_tables(Operations(MigrationContext.configure(sync))))
    async with transaction(session_factory(engine)) as session:
        for key in ("a", "b", "c"):
            payload = {"ChuHoSo": "Nguyễn Thị Ánh"}
            await Deliveries().enqueue(session, "national_portal", key, payload, ordering_key="D1")
        await session.execute(
            update(delivery)
            .where(delivery.c.idempotency_key.in_(["a", "b"]))
            .values(status="dead", last_reason="portal_05", last_response='{"error_code": "05"}')
        )
    await engine.dispose()

    listed = await run(url, "list", "--status", "dead")
    assert [line.split("\t")[:4] for line in listed.splitlines()] == [
        ["1", "national_portal", "a", "dead"],
        ["2", "national_portal", "b", "dead"],
    ]
    assert '{"error_code": "05"}' in listed and "Nguyễn" not in listed, "the answer, never the payload"
    assert "replayed [1]; not dead letters: [3]" in await run(url, "replay", "1", "3")
    assert "discarded [2]" in await run(url, "discard", "2")
    engine = create_engine(url)
    async with engine.connect() as conn:
        statuses = (await conn.execute(select(delivery.c.status).order_by(delivery.c.id))).scalars().all()
    await engine.dispose()
    assert statuses == ["pending", "discarded", "pending"]
