"""One leader across replicas: the advisory lock passes on at release and is not held on by a dead session."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from libs.common.db import create_engine
from libs.common.messaging.leader import AdvisoryLock, lock_key
from libs.common.testing import create_postgres_database, drop_postgres_database, postgres_server_url, unique_name


def test_lock_keys_are_stable_signed_64_bit() -> None:
    assert lock_key("motcua.delivery.national_portal") == lock_key("motcua.delivery.national_portal")
    assert lock_key("a") != lock_key("b")
    assert -(2**63) <= lock_key("a") < 2**63


@pytest.mark.asyncio
@pytest.mark.integration
async def test_a_dead_session_does_not_keep_leading() -> None:
    server = postgres_server_url()
    if server is None:
        pytest.skip("PostgreSQL not available")
    name = unique_name("test_leader")
    url = await create_postgres_database(server, name)
    first, second, admin = create_engine(url), create_engine(url), create_engine(url)
    a, b = AdvisoryLock(first, 42), AdvisoryLock(second, 42)
    try:
        assert await a.held()
        assert not await b.held()
        async with admin.connect() as conn:
            killed = await conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' "
                    "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
                )
            )
            assert killed.all() == [(True,)]
        assert await b.held(), "the lock died with its session"
        assert not await a.held(), "the old leader notices and does not lead alongside"
        await b.release()
        assert await a.held()
    finally:
        await a.release()
        await b.release()
        for engine in (first, second, admin):
            await engine.dispose()
        await drop_postgres_database(server, name)
