"""The audit chain: sealed in order, verified, and a tampered or deleted row named (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from libs.common.audit import (
    AuditAction,
    ChainCheck,
    audit_log,
    audit_metadata,
    personal_data_reads,
    principal_rows,
    record,
    record_principal,
    seal,
    verify,
)
from libs.common.auth import AgencyScope, Principal, Role
from libs.common.db import create_engine, session_factory, transaction
from libs.common.testing import create_postgres_database, drop_postgres_database, postgres_server_url, unique_name

pytestmark = pytest.mark.asyncio

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
FIRST = "000.00.00.H56-260302-0001"


@pytest_asyncio.fixture
async def sessions(backend: str, tmp_path: Path) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    if backend == "sqlite":
        url, name = f"sqlite+aiosqlite:///{tmp_path / 'audit.db'}", None
    else:
        server = postgres_server_url()
        if server is None:
            pytest.skip("PostgreSQL not available")
        name = unique_name("test_audit")
        url = await create_postgres_database(server, name)
    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(audit_metadata.create_all)
    yield session_factory(engine)
    await engine.dispose()
    if name is not None:
        server = postgres_server_url()
        assert server is not None
        await drop_postgres_database(server, name)


async def _record(sessions: async_sessionmaker[AsyncSession], n: int, subject: str = FIRST) -> None:
    async with transaction(sessions) as session:
        for i in range(n):
            await record(
                session,
                at=T0 + timedelta(minutes=i),
                actor=f"officer-{i % 3}",
                actor_name="Nguyễn Văn A",
                actor_agency="000.00.00.H56" if i % 2 else "000.17.22.H56",
                action=AuditAction.READ if i % 2 else AuditAction.CHANGE,
                subject_kind="dossier",
                subject_id=subject,
                personal_data=True,
                detail={"route": "get_dossier"},
            )


async def _seal_all(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with transaction(sessions) as session:
        await seal(session, limit=3)  # several rounds: the chain continues across seals
    async with transaction(sessions) as session:
        while await seal(session, limit=3):
            pass


async def _verify(sessions: async_sessionmaker[AsyncSession]) -> ChainCheck:
    async with transaction(sessions) as session:
        return await verify(session, batch=4)


async def test_a_sealed_chain_verifies(sessions: async_sessionmaker[AsyncSession]) -> None:
    await _record(sessions, 10)
    check = await _verify(sessions)
    assert check.ok and check.checked == 0 and check.unsealed == 10
    await _seal_all(sessions)
    await _record(sessions, 2)
    check = await _verify(sessions)
    assert check.ok and check.checked == 10 and check.unsealed == 2


async def test_an_altered_row_is_named(sessions: async_sessionmaker[AsyncSession]) -> None:
    await _record(sessions, 10)
    await _seal_all(sessions)
    async with transaction(sessions) as session:
        await session.execute(update(audit_log).where(audit_log.c.seq == 6).values(actor_agency="000.99.99.H56"))
        target = (await session.execute(audit_log.select().where(audit_log.c.seq == 6))).one()
    check = await _verify(sessions)
    assert not check.ok and check.first_broken_id == target.id and check.checked == 5
    assert check.reason == "its content does not match its hash"


async def test_a_deleted_row_is_named(sessions: async_sessionmaker[AsyncSession]) -> None:
    await _record(sessions, 6)
    await _seal_all(sessions)
    async with transaction(sessions) as session:
        await session.execute(delete(audit_log).where(audit_log.c.seq == 3))
        after = (await session.execute(audit_log.select().where(audit_log.c.seq == 4))).one()
    check = await _verify(sessions)
    assert not check.ok and check.first_broken_id == after.id and "position 3" in (check.reason or "")


async def test_a_rehashed_row_still_breaks_the_next_link(sessions: async_sessionmaker[AsyncSession]) -> None:
    """Rewriting a row and its own hash is caught by the next row, whose hash covers the previous hash."""
    from libs.common.audit import row_hash

    await _record(sessions, 5)
    await _seal_all(sessions)
    async with transaction(sessions) as session:
        await session.execute(update(audit_log).where(audit_log.c.seq == 2).values(actor="someone-else"))
        row = (await session.execute(audit_log.select().where(audit_log.c.seq == 2))).one()
        await session.execute(
            update(audit_log).where(audit_log.c.seq == 2).values(hash=row_hash(row, 2, row.prev_hash))
        )
        nxt = (await session.execute(audit_log.select().where(audit_log.c.seq == 3))).one()
    check = await _verify(sessions)
    assert not check.ok and check.first_broken_id == nxt.id


async def test_the_citizen_sees_agencies_not_officers(sessions: async_sessionmaker[AsyncSession]) -> None:
    await _record(sessions, 4)
    await _record(sessions, 1, subject="000.00.00.H56-260302-0002")
    async with transaction(sessions) as session:
        reads = await personal_data_reads(session, "dossier", "000.00.00.H56-260302-0001")
    assert [(r.agency_code, r.action) for r in reads] == [
        ("000.17.22.H56", "change"),
        ("000.00.00.H56", "read"),
        ("000.17.22.H56", "change"),
        ("000.00.00.H56", "read"),
    ]
    assert reads[0].at == T0


async def test_a_list_read_appends_one_row_per_dossier_in_order(sessions: async_sessionmaker[AsyncSession]) -> None:
    """A page of dossiers shown is one statement (arrays on PostgreSQL): the rows are exactly ``principal_rows``, in
    the order given, and seal into a chain that verifies."""
    officer = Principal(
        "officer-7", frozenset({Role.LEADER}), AgencyScope(frozenset({"000.17.22.H56"})), display_name="Trần Thị B"
    )
    codes = [f"000.17.22.H56-260302-{n:04d}" for n in (3, 1, 2)]
    agencies = [("000.00.00.H56", "000.17.22.H56"), ("000.00.00.H56",), (None,)]
    detail = {"list": "indicator on_time_rate denominator"}
    async with transaction(sessions) as session:
        await record_principal(
            session,
            officer,
            at=T0,
            action=AuditAction.EXPORT,
            subject_kind="dossier",
            subject_ids=codes,
            personal_data=True,
            agencies=agencies,
            detail=detail,
        )
    expected = principal_rows(
        officer,
        at=T0,
        action=AuditAction.EXPORT,
        subject_kind="dossier",
        subject_ids=codes,
        personal_data=True,
        agencies=agencies,
        detail=detail,
    )
    columns = list(expected[0])
    async with transaction(sessions) as session:
        stored = (await session.execute(audit_log.select().order_by(audit_log.c.id))).mappings().all()
    assert [{c: row[c] for c in columns} for row in stored] == expected
    assert [row["actor_agency"] for row in stored] == ["000.17.22.H56", "000.17.22.H56", "000.17.22.H56"]
    await _seal_all(sessions)
    assert (await _verify(sessions)).ok
