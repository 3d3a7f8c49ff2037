"""One leader across replicas: a PostgreSQL session-level advisory lock held on a connection of its own.

The outbox relay and the delivery worker both use it so that only one replica publishes a service's outbox, or
delivers to one target, at a time (order is kept and no row is sent by two replicas at once). SQLite is
single-process by design: there every caller leads.
"""

from __future__ import annotations

import contextlib
import hashlib

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine


def lock_key(name: str) -> int:
    """A stable signed 64-bit advisory-lock key for a name (PostgreSQL's lock keys are ``bigint``)."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


class AdvisoryLock:
    """Held from the first successful :meth:`held` until :meth:`release` or until its connection is lost."""

    def __init__(self, engine: AsyncEngine, key: int) -> None:
        self.engine = engine
        self.key = key
        self._conn: AsyncConnection | None = None

    async def held(self) -> bool:
        """Whether this process leads, trying to take the lock if it does not hold it yet."""
        if self.engine.dialect.name != "postgresql":
            return True
        if self._conn is not None and not await self._alive(self._conn):
            # The session died (database restart, network cut, terminated backend) and its lock with it: another
            # replica may lead by now, so this one must win the lock again before it leads.
            with contextlib.suppress(Exception):
                await self._conn.invalidate()
            self._conn = None
        if self._conn is None or self._conn.closed:
            self._conn = await self.engine.connect()
            got = (await self._conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key})).scalar()
            await self._conn.commit()
            if not got:
                await self._conn.close()
                self._conn = None
                return False
        return True

    @staticmethod
    async def _alive(conn: AsyncConnection) -> bool:
        if conn.closed:
            return False
        try:
            await conn.execute(text("SELECT 1"))
            await conn.commit()
        except Exception:
            return False
        return True

    async def release(self) -> None:
        """Unlock explicitly: closing a pooled connection returns it to the pool, where its session and the lock
        would live on. If unlocking fails, the connection is discarded, which ends the session."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
            await conn.commit()
        except Exception:
            with contextlib.suppress(Exception):
                await conn.invalidate()
        with contextlib.suppress(Exception):
            await conn.close()
