"""Outbox, inbox and dead-letter tables. Every service's database has them (created by its first migration)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, String, Table, Text, text

from libs.common.db import BigIntPK, UtcDateTime, new_metadata

messaging_metadata = new_metadata()

# Events written in the same transaction as the state change; the relay publishes unpublished rows in id order and
# marks each one after the broker's ack (no high-water mark: ids can commit out of order).
outbox = Table(
    "outbox",
    messaging_metadata,
    Column("id", BigIntPK, primary_key=True, autoincrement=True),
    Column("event_id", String(36), nullable=False, unique=True),
    Column("topic", String(200), nullable=False),
    Column("key", String(200), nullable=False),
    Column("type", String(200), nullable=False),
    Column("payload", Text, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("published_at", UtcDateTime(), nullable=True),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("last_error", Text, nullable=True),
)
Index(
    "ix_outbox_unpublished",
    outbox.c.id,
    postgresql_where=outbox.c.published_at.is_(None),
    sqlite_where=outbox.c.published_at.is_(None),
)

# One row per (consumer, event id) applied: redelivery of the same event then has no effect.
inbox = Table(
    "inbox",
    messaging_metadata,
    Column("consumer", String(100), primary_key=True),
    Column("event_id", String(36), primary_key=True),
    Column("processed_at", UtcDateTime(), nullable=False),
)

# Messages a consumer could not apply (undecodable, unknown type, a rule they break); kept whole for replay.
dead_letter = Table(
    "dead_letter",
    messaging_metadata,
    Column("id", BigIntPK, primary_key=True, autoincrement=True),
    Column("consumer", String(100), nullable=False),
    Column("topic", String(200), nullable=False),
    Column("partition", Integer, nullable=False),
    Column("offset", BigInteger, nullable=False),
    Column("key", Text, nullable=True),
    Column("value", Text, nullable=False),
    Column("error", Text, nullable=False),
    Column("failed_at", UtcDateTime(), nullable=False),
)
