"""Writes sent straight to asyncpg (libs/common/prepared.py) store what a Core insert stores, inside the session's
transaction: rolled back with it, begun on the server even when the session has run nothing yet."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone

import pytest
import pytest_asyncio
from sqlalchemy import JSON, Column, Integer, MetaData, String, Table, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from libs.common.db import UtcDateTime, create_engine, session_factory
from libs.common.prepared import Prepared, prefixed
from libs.common.testing import create_postgres_database, drop_postgres_database, postgres_server_url, unique_name

pytestmark = [pytest.mark.asyncio, pytest.mark.integration]

metadata = MetaData()
thing = Table(
    "thing",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(50), nullable=False),
    Column("details", JSON, nullable=False),
    Column("at", UtcDateTime(), nullable=False),
)
note = Table("note", metadata, Column("id", Integer, primary_key=True), Column("thing_name", String(60)))


@pytest_asyncio.fixture
async def sessions() -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    server = postgres_server_url()
    if server is None:
        pytest.skip("PostgreSQL not available (set MOTCUA_TEST_POSTGRES_URL; make test does)")
    name = unique_name("test_prepared")
    engine = create_engine(await create_postgres_database(server, name))
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    try:
        yield session_factory(engine)
    finally:
        await engine.dispose()
        await drop_postgres_database(server, name)


def _statement() -> Prepared:
    p = Prepared()
    name = "(SELECT name FROM w0)"
    first = p.insert(thing, ["id", "name", "details", "at"], prefix="thing")
    second = p.insert(note, ["id", "thing_name"], prefix="note", sql={"thing_name": f"{name} || '!'"})
    p.sql = f"WITH w0 AS ({first} RETURNING name), w1 AS ({second}) SELECT {name}"
    return p


ROW = {
    "id": 1,
    "name": "Nguyễn",
    "details": {"a": [1, "ư"]},
    "at": datetime(2026, 3, 2, 9, tzinfo=timezone(timedelta(hours=7))),
}


async def test_rows_are_stored_as_a_core_insert_stores_them(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as session, session.begin():
        answer = await _statement().fetchval(session, {**prefixed("thing", ROW), "note.id": 7})
        assert answer == "Nguyễn"
        await session.execute(insert(thing).values({**ROW, "id": 2}))
    async with sessions() as session:
        rows = (await session.execute(select(thing).order_by(thing.c.id))).all()
        notes = (await session.execute(select(note))).all()
    assert [tuple(r)[1:] for r in rows] == [tuple(ROW.values())[1:]] * 2
    assert rows[0].at == datetime(2026, 3, 2, 2, tzinfo=UTC)
    assert [tuple(n) for n in notes] == [(7, "Nguyễn!")]


async def test_the_writes_roll_back_with_the_session(sessions: async_sessionmaker[AsyncSession]) -> None:
    with pytest.raises(RuntimeError):
        async with sessions() as session, session.begin():
            # nothing has run in this transaction yet: the statement must not commit on its own
            await _statement().fetchval(session, {**prefixed("thing", ROW), "note.id": 7})
            raise RuntimeError("the request failed after its writes")
    async with sessions() as session:
        assert (await session.execute(select(thing))).all() == []
        assert (await session.execute(select(note))).all() == []
