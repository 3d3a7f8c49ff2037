"""Outbox and idempotent consumer: duplicates, poison messages, transient failures (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from prometheus_client import REGISTRY
from sqlalchemy import Column, Integer, MetaData, String, Table, func, insert, select, text
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from libs.common.contract import DossierRated, Envelope, Rating, Topic, make_envelope
from libs.common.db import create_engine
from libs.common.messaging.consumer import ConsumerRunner, Message, parsed_payload
from libs.common.messaging.outbox import Outbox
from libs.common.messaging.tables import dead_letter, inbox, messaging_metadata, outbox
from libs.common.testing import (
    create_postgres_database,
    drop_postgres_database,
    postgres_server_url,
    unique_name,
)

pytestmark = pytest.mark.asyncio


@pytest_asyncio.fixture
async def engine(backend: str, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    if backend == "sqlite":
        eng = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'm.db'}")
        name = None
    else:
        server = postgres_server_url()
        if server is None:
            pytest.skip("PostgreSQL not available")
        name = unique_name("test_messaging")
        eng = create_engine(await create_postgres_database(server, name))
    async with eng.begin() as conn:
        await conn.run_sync(messaging_metadata.create_all)
        await conn.run_sync(test_metadata.create_all)
    yield eng
    await eng.dispose()
    if name:
        await drop_postgres_database(postgres_server_url() or "", name)


def rated(code: str) -> Envelope:
    return make_envelope(
        DossierRated(dossier_code=code, rating=Rating.SATISFIED, at=datetime(2026, 3, 2, 3, tzinfo=UTC)),
        source="/test",
    )


def as_message(envelope: Envelope, offset: int) -> Message:
    return Message("t.intake.dossiers", 0, offset, envelope.subject.encode(), envelope.to_bytes())


test_metadata = MetaData()
applied = Table(
    "applied", test_metadata, Column("id", Integer, primary_key=True, autoincrement=True), Column("subject", String(50))
)


class Recorder:
    """A handler whose effect is a row in the same transaction, so a rollback undoes it as it would in a service."""

    def __init__(self, engine: AsyncEngine, fail_on: set[str] | None = None, transient: bool = False) -> None:
        self.engine = engine
        self.fail_on = fail_on or set()
        self.transient = transient

    async def __call__(self, session: AsyncSession, envelopes: list[Envelope]) -> None:
        for envelope in envelopes:
            await session.execute(insert(applied).values(subject=envelope.subject))
            if envelope.subject in self.fail_on:
                if self.transient:
                    raise OperationalError("SELECT 1", {}, ConnectionError("database restarting"))
                raise ValueError(f"cannot apply {envelope.subject}")

    async def seen(self) -> list[str]:
        async with self.engine.connect() as conn:
            return list((await conn.execute(select(applied.c.subject).order_by(applied.c.id))).scalars())


async def count(engine: AsyncEngine, table: object) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(table))).scalar_one())  # type: ignore[arg-type]


def runner(engine: AsyncEngine, handler: Recorder) -> ConsumerRunner:
    return ConsumerRunner(name="test", engine=engine, handler=handler, topics=["t"], bootstrap_servers="unused:1")


class TestConsumerRunner:
    async def test_the_handler_reads_the_payloads_the_contract_check_parsed(self, engine: AsyncEngine) -> None:
        events = [rated("D-1"), rated("D-2")]
        seen: list[Any] = []

        async def handler(session: AsyncSession, envelopes: list[Envelope]) -> None:
            seen.extend(parsed_payload(session, e) for e in envelopes)

        run = ConsumerRunner(name="test", engine=engine, handler=handler, topics=["t"], bootstrap_servers="unused:1")
        await run.process([as_message(e, i) for i, e in enumerate(events)])
        assert seen == [DossierRated.model_validate(e.data) for e in events]
        async with AsyncSession(engine) as session:
            assert parsed_payload(session, events[0]) is None  # outside the runner's transaction: parse yourself

    async def test_a_redelivered_batch_has_one_effect(self, engine: AsyncEngine) -> None:
        events = [rated(f"D-{i}") for i in range(5)]
        handler = Recorder(engine)
        run = runner(engine, handler)
        # The same batch twice, and a duplicate inside the batch (the broker has no idempotent producer).
        batch = [as_message(e, i) for i, e in enumerate(events)] + [as_message(events[0], 5)]
        await run.process(batch)
        await run.process(batch)
        assert await handler.seen() == [f"D-{i}" for i in range(5)]
        assert await count(engine, inbox) == 5

    async def test_a_poison_message_is_dead_lettered_and_the_rest_applies(self, engine: AsyncEngine) -> None:
        events = [rated("D-1"), rated("BAD"), rated("D-2")]
        handler = Recorder(engine, fail_on={"BAD"})
        messages = [as_message(e, i) for i, e in enumerate(events)]
        messages.append(Message("t.intake.dossiers", 0, 3, None, b"{not json"))
        await runner(engine, handler).process(messages)
        assert await handler.seen() == ["D-1", "D-2"]
        async with engine.connect() as conn:
            rows = (
                await conn.execute(select(dead_letter.c.offset, dead_letter.c.error).order_by(dead_letter.c.offset))
            ).all()
        assert [r.offset for r in rows] == [1, 3]
        assert "cannot apply BAD" in rows[0].error and "undecodable" in rows[1].error
        # The failed event has no inbox row, so a replay from the dead-letter table can still apply it.
        assert await count(engine, inbox) == 2

    async def test_a_transient_failure_commits_nothing_and_propagates(self, engine: AsyncEngine) -> None:
        events = [rated("D-1"), rated("DOWN")]
        handler = Recorder(engine, fail_on={"DOWN"}, transient=True)
        with pytest.raises(OperationalError):
            await runner(engine, handler).process([as_message(e, i) for i, e in enumerate(events)])
        assert await count(engine, inbox) == 0
        assert await count(engine, dead_letter) == 0
        # Once the database is back, the same batch applies in full.
        healthy = Recorder(engine)
        await runner(engine, healthy).process([as_message(e, i) for i, e in enumerate(events)])
        assert await healthy.seen() == ["D-1", "DOWN"]

    async def test_a_statement_timeout_is_retried_not_dead_lettered(self, engine: AsyncEngine, backend: str) -> None:
        if backend != "postgres":
            pytest.skip("statement timeouts are PostgreSQL's (SQLSTATE 57014)")

        async def too_slow(session: AsyncSession, envelopes: list[Envelope]) -> None:
            await session.execute(text("SET LOCAL statement_timeout = 1"))
            await session.execute(text("SELECT pg_sleep(0.5)"))

        slow_runner = ConsumerRunner(name="c", engine=engine, handler=too_slow, topics=[], bootstrap_servers="")
        with pytest.raises(DBAPIError):
            await slow_runner.process([as_message(rated("D-1"), 0)])
        assert await count(engine, dead_letter) == 0
        assert await count(engine, inbox) == 0


def hand_made(**changes: object) -> Message:
    """A record someone wrote by hand: a valid rating event with some attributes replaced."""
    raw = rated("D-9").model_dump(mode="json") | changes
    return Message("t.intake.dossiers", 0, 0, b"D-9", json.dumps(raw, ensure_ascii=False).encode())


async def dead_letters(engine: AsyncEngine) -> list[Any]:
    async with engine.connect() as conn:
        return list((await conn.execute(select(dead_letter).order_by(dead_letter.c.id))).all())


class TestContractGate:
    """Every consumed event is parsed against the contract before the handler sees it."""

    async def test_a_payload_breaking_the_contract_is_dead_lettered_naming_the_field(self, engine: AsyncEngine) -> None:
        handler = Recorder(engine)
        bad = hand_made(data={"dossier_code": "D-9", "rating": "furious", "at": "2026-03-02T03:00:00Z"})
        await runner(engine, handler).process([bad, as_message(rated("D-1"), 1)])
        assert await handler.seen() == ["D-1"]
        (row,) = await dead_letters(engine)
        assert "payload breaks the contract" in row.error and "rating" in row.error
        assert "furious" not in row.error  # the reason names the field, never the value
        assert await count(engine, inbox) == 1

    async def test_a_newer_version_is_dead_lettered_not_read_as_an_older_one(self, engine: AsyncEngine) -> None:
        handler = Recorder(engine)
        newer = hand_made(dataschema="urn:motcua:event:intake.dossier.rated:v2")
        await runner(engine, handler).process([newer])
        assert await handler.seen() == []
        (row,) = await dead_letters(engine)
        assert "unsupported version" in row.error and "v2" in row.error

    async def test_an_unknown_type_is_counted_not_applied_nor_marked_processed(self, engine: AsyncEngine) -> None:
        handler = Recorder(engine)
        consumer = runner(engine, handler)
        kind = f"vn.motcua.intake.dossier.{unique_name('teleported')}"
        before = REGISTRY.get_sample_value("motcua_events_unknown_total", {"consumer": "test", "type": kind}) or 0
        await consumer.process([hand_made(type=kind), hand_made(type=kind, id="other-id")])
        assert await handler.seen() == []
        assert await count(engine, inbox) == 0 and await dead_letters(engine) == []
        after = REGISTRY.get_sample_value("motcua_events_unknown_total", {"consumer": "test", "type": kind})
        assert after == before + 2

    async def test_dead_letters_hold_no_clear_personal_data(self, engine: AsyncEngine) -> None:
        handler = Recorder(engine)
        applicant = {"kind": "person", "id_code": "001203004567", "name": "Nguyễn Văn An"}
        received = hand_made(
            type="vn.motcua.intake.dossier.received",
            dataschema="urn:motcua:event:intake.dossier.received:v1",
            data={"dossier_code": "D-9", "applicant": applicant},
        )
        await runner(engine, handler).process([received])
        (row,) = await dead_letters(engine)
        assert "Nguyễn Văn An" not in row.value and "001203004567" not in row.value + row.error
        assert "001******567" in row.value and "D-9" in row.value  # the rest is kept for inspection and replay


class TestOutbox:
    async def test_append_writes_rows_in_the_callers_transaction(self, engine: AsyncEngine) -> None:
        box = Outbox(source="/test", topic_prefix="p")
        async with AsyncSession(engine) as session:
            async with session.begin():
                await box.append(
                    session,
                    DossierRated(dossier_code="D-1", rating=Rating.SATISFIED, at=datetime(2026, 1, 5, tzinfo=UTC)),
                )
            # a rolled-back transaction leaves nothing behind
            try:
                async with session.begin():
                    await box.append(
                        session,
                        DossierRated(dossier_code="D-2", rating=Rating.SATISFIED, at=datetime(2026, 1, 5, tzinfo=UTC)),
                    )
                    raise RuntimeError("rollback")
            except RuntimeError:
                pass
        async with engine.connect() as conn:
            rows = (await conn.execute(select(outbox.c.topic, outbox.c.key, outbox.c.published_at))).all()
        assert [(r.topic, r.key, r.published_at) for r in rows] == [(f"p.{Topic.DOSSIERS.value}", "D-1", None)]
