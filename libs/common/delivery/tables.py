"""The delivery tables, and the helpers a service's Alembic migration calls to create and drop them.

A service that sends to outside systems adds a migration whose ``upgrade()`` calls ``create_delivery_tables(op)``
and whose ``downgrade()`` calls ``drop_delivery_tables(op)``. The helpers spell the version-1 schema out column by
column (a migration must not change when this module does); a test checks that they build what the table
definitions below describe.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy import Column, Index, Integer, String, Table, Text, UniqueConstraint, text

from libs.common.db import BigIntPK, UtcDateTime, new_metadata

delivery_metadata = new_metadata()

# One row per (target, idempotency key): enqueueing the same notice of the same event twice is a no-op. Rows stay
# after delivery (they are the record of what was sent and answered); status is pending, delivered, dead or
# discarded.
delivery = Table(
    "delivery",
    delivery_metadata,
    Column("id", BigIntPK, primary_key=True, autoincrement=True),
    Column("target", String(100), nullable=False),
    Column("idempotency_key", String(200), nullable=False),
    # Rows of one target with the same ordering key are delivered one after the other in id order (a dossier's
    # record before its progress steps); rows without one are independent.
    Column("ordering_key", String(200), nullable=True),
    Column("payload", Text, nullable=False),
    Column("status", String(20), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("not_before", UtcDateTime(), nullable=False),
    Column("next_attempt_at", UtcDateTime(), nullable=False),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("last_attempt_at", UtcDateTime(), nullable=True),
    Column("last_reason", String(100), nullable=True),
    Column("last_status_code", Integer, nullable=True),
    Column("last_response", Text, nullable=True),
    Column("delivered_at", UtcDateTime(), nullable=True),
    Column("dead_at", UtcDateTime(), nullable=True),
    UniqueConstraint("target", "idempotency_key", name="uq_delivery_target_idempotency_key"),
)
Index(
    "ix_delivery_pending",
    delivery.c.target,
    delivery.c.next_attempt_at,
    postgresql_where=delivery.c.status == "pending",
    sqlite_where=delivery.c.status == "pending",
)
Index("ix_delivery_ordering_key", delivery.c.target, delivery.c.ordering_key, delivery.c.id)

# Every attempt and the target's answer, for the per-item view staff and operators read.
delivery_attempt = Table(
    "delivery_attempt",
    delivery_metadata,
    Column("id", BigIntPK, primary_key=True, autoincrement=True),
    Column("delivery_id", BigIntPK, sa.ForeignKey("delivery.id", ondelete="CASCADE"), nullable=False),
    Column("attempted_at", UtcDateTime(), nullable=False),
    Column("outcome", String(20), nullable=False),
    Column("reason", String(100), nullable=False),
    Column("status_code", Integer, nullable=True),
    Column("response", Text, nullable=True),
)
Index("ix_delivery_attempt_delivery_id", delivery_attempt.c.delivery_id)


def create_delivery_tables(op: Any) -> None:
    """Create ``delivery`` and ``delivery_attempt`` (version 1) from an Alembic migration's ``op``."""
    big = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    op.create_table(
        "delivery",
        sa.Column("id", big, autoincrement=True, nullable=False),
        sa.Column("target", sa.String(length=100), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("ordering_key", sa.String(length=200), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("not_before", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_reason", sa.String(length=100), nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_response", sa.Text(), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("dead_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_delivery"),
        sa.UniqueConstraint("target", "idempotency_key", name="uq_delivery_target_idempotency_key"),
    )
    op.create_index(
        "ix_delivery_pending",
        "delivery",
        ["target", "next_attempt_at"],
        postgresql_where=sa.text("status = 'pending'"),
        sqlite_where=sa.text("status = 'pending'"),
    )
    op.create_index("ix_delivery_ordering_key", "delivery", ["target", "ordering_key", "id"])
    op.create_table(
        "delivery_attempt",
        sa.Column("id", big, autoincrement=True, nullable=False),
        sa.Column("delivery_id", big, nullable=False),
        sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.String(length=100), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("response", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["delivery.id"],
            name="fk_delivery_attempt_delivery_id_delivery",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_delivery_attempt"),
    )
    op.create_index("ix_delivery_attempt_delivery_id", "delivery_attempt", ["delivery_id"])


def drop_delivery_tables(op: Any) -> None:
    op.drop_index("ix_delivery_attempt_delivery_id", table_name="delivery_attempt")
    op.drop_table("delivery_attempt")
    op.drop_index("ix_delivery_ordering_key", table_name="delivery")
    op.drop_index("ix_delivery_pending", table_name="delivery")
    op.drop_table("delivery")
