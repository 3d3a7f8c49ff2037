"""What a producer says it published: event ids per aggregate (the Kafka key, e.g. a dossier code) and per day,
counted and digested from its outbox, and a republish that hands an aggregate's events back to the relay.

A consumer that lost events (a broker that lost its data, a message dropped on the way) compares these with what it
holds and asks for the missing aggregates again; its inbox makes the redelivered events it already has harmless.
Days are local days (Asia/Ho_Chi_Minh) by the event's time, the same instant the envelope carries, so a consumer
can group what it holds the same way.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from libs.common.calendar import VN_TZ
from libs.common.contract.envelope import TYPE_PREFIX
from libs.common.messaging.outbox import SESSION_FLAG
from libs.common.messaging.tables import outbox


def digest_of(event_ids: Iterable[str]) -> str:
    """SHA-256 (hex) over the sorted event ids, one per line: equal sets give equal digests, whatever the order."""
    return hashlib.sha256("\n".join(sorted(event_ids)).encode()).hexdigest()


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The instants [start, end) of a local day."""
    start = datetime.combine(day, time(), tzinfo=VN_TZ)
    return start, start + timedelta(days=1)


def summarise(pairs: Iterable[tuple[str, str]]) -> dict[str, dict[str, Any]]:
    """(key, event id) pairs → {key: {"count", "digest"}}."""
    grouped: dict[str, list[str]] = {}
    for key, event_id in pairs:
        grouped.setdefault(key, []).append(event_id)
    return {key: {"count": len(ids), "digest": digest_of(ids)} for key, ids in grouped.items()}


def _types(names: Sequence[str]) -> list[str]:
    return [TYPE_PREFIX + n for n in names]


async def published_ids_of_days(
    conn: AsyncConnection | AsyncSession, first: date, last: date, names: Sequence[str] = ()
) -> list[tuple[str, str]]:
    """(key, event id) of the events of the local days ``first``..``last`` that the relay has published (optionally
    only these event names).

    Rows waiting for the relay are left out: they are a backlog (``motcua_outbox_backlog``), not drift.
    """
    start, end = day_bounds(first)[0], day_bounds(last)[1]
    query = select(outbox.c.key, outbox.c.event_id).where(
        outbox.c.created_at >= start, outbox.c.created_at < end, outbox.c.published_at.is_not(None)
    )
    if names:
        query = query.where(outbox.c.type.in_(_types(names)))
    return [(str(k), str(i)) for k, i in (await conn.execute(query)).all()]


async def events_of(conn: AsyncConnection | AsyncSession, key: str, names: Sequence[str] = ()) -> list[dict[str, Any]]:
    query = (
        select(outbox.c.event_id, outbox.c.type, outbox.c.created_at, outbox.c.published_at)
        .where(outbox.c.key == key)
        .order_by(outbox.c.id)
    )
    if names:
        query = query.where(outbox.c.type.in_(_types(names)))
    return [
        {
            "id": row.event_id,
            "name": str(row.type).removeprefix(TYPE_PREFIX),
            "time": row.created_at,
            "published": row.published_at is not None,
        }
        for row in (await conn.execute(query)).all()
    ]


async def republish(session: AsyncSession, keys: Sequence[str], names: Sequence[str] = ()) -> int:
    """Mark every published event of these aggregates unpublished again: the relay sends them once more, in id
    order. Returns how many rows were handed back. The caller's boundary commits."""
    query = update(outbox).where(outbox.c.key.in_(list(keys)), outbox.c.published_at.is_not(None))
    if names:
        query = query.where(outbox.c.type.in_(_types(names)))
    count = int((await session.execute(query.values(published_at=None))).rowcount)  # type: ignore[attr-defined]
    if count:
        session.info[SESSION_FLAG] = True  # the request boundary wakes the relay after the commit
    return count
