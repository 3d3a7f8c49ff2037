from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy.ext.asyncio import AsyncEngine

from libs.common.db import create_engine
from libs.common.delivery import create_delivery_tables
from libs.common.testing import create_postgres_database, drop_postgres_database, postgres_server_url, unique_name


@pytest_asyncio.fixture
async def delivery_engine(backend: str, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    """A database with only the delivery tables (intake's migration does not create them yet)."""
    name = None
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'deliveries.db'}"
    else:
        server = postgres_server_url()
        if server is None:
            pytest.skip("PostgreSQL not available")
        name = unique_name("test_intake_delivery")
        url = await create_postgres_database(server, name)
    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(lambda sync: create_delivery_tables(Operations(MigrationContext.configure(sync))))
    yield engine
    await engine.dispose()
    if name:
        await drop_postgres_database(postgres_server_url() or "", name)


@pytest_asyncio.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=httpx.Timeout(0.5)) as client:
        yield client
