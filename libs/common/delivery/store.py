"""Enqueue deliveries inside the caller's transaction; read them back; replay dead letters."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Row, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from libs.common.db import insert_ignoring_conflicts
from libs.common.delivery.tables import delivery, delivery_attempt

Clock = Callable[[], datetime]
# Set on a session that enqueued deliveries, so that the boundary can wake the worker after the commit.
SESSION_FLAG = "delivery_enqueued"


def utcnow() -> datetime:
    return datetime.now(UTC)


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"  # a permanent refusal, or retries exhausted: waits for an operator's replay or discard
    DISCARDED = "discarded"  # a dead letter an operator chose not to send (kept as the record of it)


class Deliveries:
    """What a service calls from its use cases. It never commits: the caller's boundary does."""

    def __init__(self, clock: Clock = utcnow) -> None:
        self.clock = clock

    async def enqueue(
        self,
        session: AsyncSession,
        target: str,
        idempotency_key: str,
        payload: Mapping[str, Any],
        *,
        not_before: datetime | None = None,
        ordering_key: str | None = None,
    ) -> bool:
        """Add a delivery; returns False when (target, idempotency_key) was enqueued before (nothing changes).

        ``not_before`` holds it back until then (quiet hours); ``ordering_key`` makes it wait for every earlier
        delivery of the same target and key.
        """
        now = self.clock()
        due = max(now, not_before) if not_before is not None else now
        result = await session.execute(
            insert_ignoring_conflicts(delivery, session.get_bind().dialect.name).values(
                target=target,
                idempotency_key=idempotency_key,
                ordering_key=ordering_key,
                payload=json.dumps(payload, ensure_ascii=False, separators=(",", ":")),
                status=DeliveryStatus.PENDING.value,
                created_at=now,
                not_before=due,
                next_attempt_at=due,
                attempts=0,
            )
        )
        session.info[SESSION_FLAG] = True
        return bool(getattr(result, "rowcount", 0))

    async def replay(self, session: AsyncSession, ids: Iterable[int]) -> list[int]:
        """Put dead letters back in the queue, due now, with a fresh retry budget; returns the ids replayed."""
        wanted = list(ids)
        if not wanted:
            return []
        replayed = (
            await session.execute(
                update(delivery)
                .where(delivery.c.id.in_(wanted), delivery.c.status == DeliveryStatus.DEAD.value)
                .values(status=DeliveryStatus.PENDING.value, next_attempt_at=self.clock(), attempts=0, dead_at=None)
                .returning(delivery.c.id)
            )
        ).scalars()
        return sorted(int(i) for i in replayed)

    async def discard(self, session: AsyncSession, ids: Iterable[int]) -> list[int]:
        """Give up on dead letters for good (the row stays, as the record); releases what waited behind them."""
        wanted = list(ids)
        if not wanted:
            return []
        discarded = (
            await session.execute(
                update(delivery)
                .where(delivery.c.id.in_(wanted), delivery.c.status == DeliveryStatus.DEAD.value)
                .values(status=DeliveryStatus.DISCARDED.value)
                .returning(delivery.c.id)
            )
        ).scalars()
        return sorted(int(i) for i in discarded)

    async def find(
        self,
        session: AsyncSession | AsyncConnection,
        *,
        target: str | None = None,
        ordering_key: str | None = None,
        key_prefix: str | None = None,
        status: DeliveryStatus | None = None,
        limit: int = 100,
    ) -> Sequence[Row[Any]]:
        """Deliveries in id order (e.g. everything sent about one dossier, or a target's dead letters)."""
        query = select(delivery).order_by(delivery.c.id).limit(limit)
        if target is not None:
            query = query.where(delivery.c.target == target)
        if ordering_key is not None:
            query = query.where(delivery.c.ordering_key == ordering_key)
        if key_prefix is not None:
            query = query.where(delivery.c.idempotency_key.startswith(key_prefix, autoescape=True))
        if status is not None:
            query = query.where(delivery.c.status == status.value)
        return (await session.execute(query)).all()

    async def attempts(self, session: AsyncSession | AsyncConnection, delivery_id: int) -> Sequence[Row[Any]]:
        """Every attempt of one delivery with the target's answer, oldest first."""
        query = (
            select(delivery_attempt)
            .where(delivery_attempt.c.delivery_id == delivery_id)
            .order_by(delivery_attempt.c.id)
        )
        return (await session.execute(query)).all()

    async def counts(self, session: AsyncSession | AsyncConnection, target: str) -> dict[str, int]:
        """Deliveries of a target by status."""
        rows = (
            await session.execute(
                select(delivery.c.status, func.count()).where(delivery.c.target == target).group_by(delivery.c.status)
            )
        ).all()
        found = {str(status): int(n) for status, n in rows}
        return {s.value: found.get(s.value, 0) for s in DeliveryStatus}


def payload_of(row: Row[Any]) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(row.payload)
    return loaded
