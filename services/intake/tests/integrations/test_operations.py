"""deploy/deliveries.py: an operator lists dead letters with the target's answer, replays and discards them."""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import ModuleType

import pytest
from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy import select, update

from libs.common.db import create_engine, session_factory, transaction
from libs.common.delivery import Deliveries, create_delivery_tables, delivery

ROOT = Path(__file__).resolve().parents[4]
pytestmark = pytest.mark.asyncio


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("deliveries_script", ROOT / "deploy" / "deliveries.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SCRIPT = load_script()


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Callable[..., Awaitable[str]]:
    """Run the script in this process (the same code path as its command line) with the service's settings."""
    config = importlib.import_module("services.intake.config")

    async def run(url: str, *args: str) -> str:
        monkeypatch.setenv("MOTCUA_INTAKE_DATABASE_URL", url)
        config.get_settings.cache_clear()
        try:
            await SCRIPT.main(SCRIPT.parser().parse_args(["intake", *args]))
        finally:
            config.get_settings.cache_clear()
        return capsys.readouterr().out

    return run


async def test_list_replay_discard(tmp_path: Path, run: Callable[..., Awaitable[str]]) -> None:
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
