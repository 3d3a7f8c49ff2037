"""The body of every service's ``migrations/env.py``: async engine, ``compare_type``, the shared messaging and audit
tables."""

from __future__ import annotations

import asyncio
from typing import Any

from alembic import context
from sqlalchemy import MetaData
from sqlalchemy.engine import Connection

from libs.common.audit import audit_metadata
from libs.common.db import UtcDateTime, create_engine
from libs.common.messaging.tables import messaging_metadata


def _render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    # Migrations stay free of our Python types: a UtcDateTime column is a timestamptz in the database.
    if type_ == "type" and isinstance(obj, UtcDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run(service_metadata: MetaData, *extra: MetaData) -> None:
    """``extra``: shared tables a service opted into (e.g. ``delivery_metadata``), so autogenerate keeps them."""
    config = context.config
    target: list[MetaData] = [service_metadata, messaging_metadata, audit_metadata, *extra]
    url = config.get_main_option("sqlalchemy.url")
    assert url, "sqlalchemy.url is not set"
    options: dict[str, Any] = {
        "target_metadata": target,
        "compare_type": True,
        "render_as_batch": url.startswith("sqlite"),
        "render_item": _render_item,
    }

    if context.is_offline_mode():
        context.configure(url=url, literal_binds=True, **options)
        with context.begin_transaction():
            context.run_migrations()
        return

    def do_run(connection: Connection) -> None:
        context.configure(connection=connection, **options)
        with context.begin_transaction():
            context.run_migrations()

    async def run_async() -> None:
        engine = create_engine(url)
        async with engine.connect() as connection:
            await connection.run_sync(do_run)
            await connection.commit()
        await engine.dispose()

    existing = config.attributes.get("connection")
    if existing is not None:
        do_run(existing)
    else:
        asyncio.run(run_async())
