"""Idempotency keys on every POST that creates or changes something (the GOV.UK Pay and Stripe pattern).

A client that lost a response retries with the same ``Idempotency-Key``: with the same body it gets the first answer
again and nothing happens twice; with another body it gets 409 ``idempotency_key_reused``, because a key names one
request and reusing it for another is a client bug that must not silently act or hide an action.

The key is reserved and the answer stored in the same transaction as the change itself, so the change and its
record commit together: a crash before the commit leaves neither, and a retry then simply runs again. On PostgreSQL
a concurrent duplicate waits on the reservation's unique index until the first commits, then reads its answer.
Keys belong to the caller (its principal's subject): two clients cannot collide. Records older than the window are
forgotten (the key may then be used again).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from typing import Annotated, Any, TypeVar

from fastapi import Header
from pydantic import BaseModel
from sqlalchemy import Column, Integer, PrimaryKeyConstraint, String, Table, Text, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from libs.common.db import UtcDateTime, insert_ignoring_conflicts, new_metadata
from libs.common.errors import Conflict, InvalidInput, field_error

__all__ = [
    "IDEMPOTENCY_RESPONSES",
    "IdempotencyKey",
    "IdempotencyKeyReused",
    "fingerprint",
    "idempotency_metadata",
    "idempotency_record",
    "key_problem",
    "once",
]

MAX_KEY_LENGTH = 200
DEFAULT_WINDOW = timedelta(hours=24)

idempotency_metadata = new_metadata()
idempotency_record = Table(
    "idempotency_record",
    idempotency_metadata,
    Column("owner", String(200), nullable=False),
    Column("key", String(MAX_KEY_LENGTH), nullable=False),
    Column("request", String(200), nullable=False),  # the operation, e.g. "POST /dossiers/{code}/result <code>"
    Column("fingerprint", String(64), nullable=False),
    Column("status_code", Integer, nullable=True),
    Column("response", Text, nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    PrimaryKeyConstraint("owner", "key"),
)

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="Optional. Retry with the same key and body to get the first answer again (nothing happens "
        "twice); the same key with another body is 409 idempotency_key_reused. Keys are kept 24 hours.",
    ),
]


class IdempotencyKeyReused(Conflict):
    code = "idempotency_key_reused"
    title = "Idempotency key used for another request"


IDEMPOTENCY_RESPONSES: dict[int | str, dict[str, Any]] = {
    409: {"description": "Idempotency-Key reused for another request, or a state conflict"}
}


def fingerprint(body: Mapping[str, Any]) -> str:
    """A digest of the request's meaning: key order and whitespace do not matter, values do."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def key_problem(key: str) -> str | None:
    if not key.strip():
        return "must not be empty"
    if len(key) > MAX_KEY_LENGTH:
        return f"at most {MAX_KEY_LENGTH} characters"
    if not key.isprintable() or not key.isascii():
        return "printable ASCII only"
    return None


M = TypeVar("M", bound=BaseModel)


async def once(
    session: AsyncSession,
    *,
    owner: str,
    key: str | None,
    request: str,
    body: Mapping[str, Any],
    now: datetime,
    model: type[M],
    answer: Callable[[], Awaitable[M]],
    window: timedelta = DEFAULT_WINDOW,
) -> M:
    """``answer()`` once per (owner, key): the first time it runs and its result is stored with the change; a retry
    with the same request gets the stored result. Without a key it simply runs."""
    if key is None:
        return await answer()
    problem = key_problem(key)
    if problem:
        raise InvalidInput(f"Idempotency-Key {problem}", errors=[field_error(("header", "Idempotency-Key"), problem)])
    digest = fingerprint({"request": request, "body": body})
    t = idempotency_record
    await session.execute(delete(t).where(t.c.owner == owner, t.c.key == key, t.c.created_at < now - window))
    dialect = session.get_bind().dialect.name
    reserved = await session.execute(
        insert_ignoring_conflicts(t, dialect).values(
            owner=owner, key=key, request=request[:200], fingerprint=digest, created_at=now
        )
    )
    if reserved.rowcount == 1:  # type: ignore[attr-defined]
        result = await answer()
        await session.execute(
            update(t)
            .where(t.c.owner == owner, t.c.key == key)
            .values(status_code=200, response=result.model_dump_json())
        )
        return result
    row = (await session.execute(select(t).where(t.c.owner == owner, t.c.key == key))).one()
    if row.fingerprint != digest:
        raise IdempotencyKeyReused(
            f"Idempotency-Key {key!r} was used for another request; use a new key for a new request",
            errors=[field_error(("header", "Idempotency-Key"), "used for another request")],
        )
    if row.response is None:  # reserved by a request that has not finished (SQLite only: PostgreSQL waits)
        raise Conflict(f"A request with Idempotency-Key {key!r} is still in progress; retry shortly")
    return model.model_validate_json(row.response)
