"""One leader across replicas: a PostgreSQL session-level advisory lock held on a connection of its own.

The outbox relay and the delivery worker both use it so that only one replica publishes a service's outbox, or
delivers to one target, at a time (order is kept and no row is sent by two replicas at once). SQLite is
single-process by design: there every caller leads.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine


def lock_key(name: str) -> int:
    """A stable signed 64-bit advisory-lock key for a name (PostgreSQL's lock keys are ``bigint``)."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


class AdvisoryLock:
    """Held from the first successful :meth:`held` until :meth:`release` or until its connection or lock is lost.

    Leadership is proved, not assumed: before each round the holder asks PostgreSQL, on the lock's own connection,
    whether that session still holds the lock (``pg_locks``), with a timeout. A restart, a cut network or a terminated
    backend ends the session and its lock; the holder then stops leading at once and must win the lock again, so two
    replicas never act at the same time.
    """

    # pg_locks shows a bigint advisory key as classid (high 32 bits) and objid (low 32 bits), objsubid 1.
    HOLDS = text(
        "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND granted"
        " AND classid::bigint = :hi AND objid::bigint = :lo AND objsubid = 1)"
    )

    def __init__(self, engine: AsyncEngine, key: int, *, check_timeout_seconds: float = 5.0) -> None:
        self.engine = engine
        self.key = key
        self.check_timeout = check_timeout_seconds
        self._conn: AsyncConnection | None = None

    @property
    def leading(self) -> bool:
        """Whether the last check found the lock held (always true on SQLite)."""
        return self.engine.dialect.name != "postgresql" or self._conn is not None

    async def held(self) -> bool:
        """Whether this process leads, trying to take the lock if it does not hold it."""
        if self.engine.dialect.name != "postgresql":
            return True
        if self._conn is not None and await self.still_held():
            return True
        conn = await self.engine.connect()
        try:
            got = bool((await conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key})).scalar())
            await conn.commit()
        except BaseException:
            await _discard(conn)
            raise
        if not got:
            await conn.close()
            return False
        self._conn = conn
        return True

    async def still_held(self) -> bool:
        """Ask PostgreSQL whether the lock's session still holds it; on any doubt, stop leading."""
        if self.engine.dialect.name != "postgresql":
            return True
        conn = self._conn
        if conn is not None:
            try:
                if await asyncio.wait_for(self._holds(conn), self.check_timeout):
                    return True
            except Exception:  # the session is gone or does not answer: its lock cannot be trusted
                pass
        conn, self._conn = self._conn, None
        if conn is not None:
            await _discard(conn)
        return False

    async def _holds(self, conn: AsyncConnection) -> bool:
        params = {"hi": (self.key >> 32) & 0xFFFFFFFF, "lo": self.key & 0xFFFFFFFF}
        held = bool((await conn.execute(self.HOLDS, params)).scalar())
        await conn.commit()
        return held

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


async def _discard(conn: AsyncConnection) -> None:
    # A broken connection must not go back to the pool; invalidating it ends its session, and any lock with it.
    with contextlib.suppress(Exception):
        await conn.invalidate()
    with contextlib.suppress(Exception):
        await conn.close()
