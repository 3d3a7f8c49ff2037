"""Every service's migrations build its schema from an empty database, on SQLite and on PostgreSQL.

The rest of the suite copies a template migrated once per service and test session
(``libs.common.testing.service_database``); these are the tests that run every migration from scratch each time.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from libs.common.db import create_engine
from libs.common.messaging.tables import messaging_metadata
from libs.common.migrate import SERVICES, alembic_config
from libs.common.testing import migrated_from_scratch

pytestmark = pytest.mark.asyncio


def _state(conn: Connection) -> tuple[set[str], set[str]]:
    return set(inspect(conn).get_table_names()), set(MigrationContext.configure(conn).get_current_heads())


@pytest.mark.parametrize("service", SERVICES)
async def test_upgrade_head_from_an_empty_database_builds_every_table(
    service: str, backend: str, tmp_path: Path
) -> None:
    async with migrated_from_scratch(service, backend, tmp_path) as url:
        engine = create_engine(url)
        try:
            async with engine.connect() as conn:
                tables, heads = await conn.run_sync(_state)
        finally:
            await engine.dispose()
        script_heads = set(ScriptDirectory.from_config(alembic_config(service, url)).get_heads())
    models = importlib.import_module(f"services.{service}.models").Base.metadata
    assert heads == script_heads and len(heads) == 1
    assert set(models.tables) | set(messaging_metadata.tables) <= tables
