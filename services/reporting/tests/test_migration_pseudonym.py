"""Migration 0007_privacy_pseudonym: facts folded before events carried pseudonyms keep the same applicant, now as
``k1:<hash>`` (the former single key is key k1), so distinct-applicant counts do not change; downgrade restores."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import Boolean, Connection, MetaData, Table, func, insert, select

from libs.common.db import create_engine
from libs.common.migrate import alembic_config
from libs.common.testing import create_postgres_database, drop_postgres_database, postgres_server_url, unique_name

pytestmark = pytest.mark.asyncio
HEX = "ab" * 32
T = TypeVar("T")


def _facts(conn: Connection) -> Table:
    meta = MetaData()
    return Table("dossier_fact", meta, autoload_with=conn)


def _seed(conn: Connection) -> None:
    table = _facts(conn)
    required: dict[str, Any] = {
        c.name: False if isinstance(c.type, Boolean) else 0
        for c in table.columns
        if not c.nullable and not c.primary_key and c.server_default is None
    }
    rows = [(f"D-{n}", h) for n, h in enumerate([HEX, HEX, "cd" * 32, None])]
    conn.execute(insert(table), [{**required, "dossier_code": code, "applicant_hash": h} for code, h in rows])


def _hashes(conn: Connection) -> tuple[list[str | None], int]:
    table = _facts(conn)
    hashes = [r[0] for r in conn.execute(select(table.c.applicant_hash).order_by(table.c.dossier_code))]
    distinct = conn.execute(select(func.count(table.c.applicant_hash.distinct()))).scalar_one()
    return hashes, int(distinct)


async def _step(url: str, command: str, revision: str) -> None:
    from alembic import command as alembic

    await asyncio.to_thread(getattr(alembic, command), alembic_config("reporting", url), revision)


async def _on(url: str, work: Callable[[Connection], T]) -> T:
    # A new engine each time: PostgreSQL's cached statement plans do not survive the column's change of type.
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            return await conn.run_sync(work)
    finally:
        await engine.dispose()


async def test_old_hashes_become_k1_pseudonyms_and_back(backend: str, tmp_path: Path) -> None:
    server = postgres_server_url() if backend == "postgres" else None
    if backend == "postgres" and server is None:
        pytest.skip("PostgreSQL not available")
    name = unique_name("test_reporting_pseudonym")
    url = (
        await create_postgres_database(server, name)
        if server is not None
        else f"sqlite+aiosqlite:///{tmp_path / f'r-{uuid.uuid4().hex[:6]}.db'}"
    )
    try:
        await _step(url, "upgrade", "0005")
        await _on(url, _seed)
        before = await _on(url, _hashes)
        await _step(url, "upgrade", "head")
        after = await _on(url, _hashes)
        await _step(url, "downgrade", "0005")
        restored = await _on(url, _hashes)
    finally:
        if server is not None:
            await drop_postgres_database(server, name)
    assert after == ([f"k1:{HEX}", f"k1:{HEX}", f"k1:{'cd' * 32}", None], 2)
    assert before[1] == after[1] and restored == before
