"""Async engine and session factory for PostgreSQL (production) and SQLite (embedded default).

One transaction per request or consumed batch, owned by the boundary: the request dependency and the consumer
runner commit or roll back; services only flush.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import BigInteger, DateTime, Integer, MetaData, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.sql import Insert
from sqlalchemy.sql.schema import Table
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Auto-incrementing 64-bit key that SQLite also accepts as its rowid alias.
BigIntPK = BigInteger().with_variant(Integer(), "sqlite")


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware instant stored in UTC that reads back aware on every backend (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def new_metadata() -> MetaData:
    return MetaData(naming_convention=NAMING_CONVENTION)


class Base(DeclarativeBase):
    """Subclass per service (``class Base(common.db.Base): __abstract__ = True; metadata = new_metadata()``)."""

    __abstract__ = True


def create_engine(url: str, *, pool_size: int = 10, echo: bool = False) -> AsyncEngine:
    parsed = make_url(url)
    # hide_parameters: a failed statement's message (and so its traceback) must not print a citizen's data.
    kwargs: dict[str, Any] = {"echo": echo, "hide_parameters": True}
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"timeout": 30}
    else:
        kwargs.update(pool_size=pool_size, max_overflow=pool_size)
    engine = create_async_engine(url, **kwargs)
    if parsed.get_backend_name() != "sqlite":
        _ping_when_idle(engine)
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "begin", _sqlite_begin_immediate)
    return engine


# A pooled connection checked in less than this long ago is taken as alive. SQLAlchemy's pool_pre_ping pings at every
# checkout, and asyncpg's ping is three round trips (BEGIN, a statement, ROLLBACK): more than a receipt's own writes.
# Under load a connection comes back within milliseconds and is not pinged; one idle long enough to have been cut
# (a restart, a failover, an idle timeout) still is. A connection cut while busy fails its statement instead, which
# invalidates the whole pool (SQLAlchemy's disconnect handling) so only the statements in flight see the cut.
PING_AFTER_IDLE_SECONDS = 1.0


def _ping_when_idle(engine: AsyncEngine) -> None:
    pool = engine.sync_engine.pool

    def checkin(_dbapi_connection: Any, record: Any) -> None:
        if record is not None:
            record.info["checked_in_at"] = time.monotonic()

    def checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        checked_in_at = record.info.get("checked_in_at")
        if checked_in_at is None or time.monotonic() - checked_in_at < PING_AFTER_IDLE_SECONDS:
            return  # just connected, or just used
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:
            # the pool's documented way to say "discard this one": it reconnects and retries the checkout
            raise sa_exc.DisconnectionError("pooled connection failed its ping") from exc

    event.listen(pool, "checkin", checkin)
    event.listen(pool, "checkout", checkout)


def _sqlite_begin_immediate(conn: Any) -> None:
    # A deferred SQLite transaction that reads and then writes fails at once ("database is locked", no busy wait)
    # when another connection committed in between; taking the write lock when the transaction begins makes writers
    # queue on busy_timeout instead. SQLite is the single-node default (make run), where this costs nothing.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # SQLAlchemy emits BEGIN itself (see _sqlite_begin_immediate), so the driver must not.
    dbapi_connection.isolation_level = None
    # WAL lets the relay and the consumer read while a request writes; busy_timeout waits instead of failing.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


# PostgreSQL conditions that say "not now" rather than "not this": the same statement succeeds once the server has
# room (53300 too_many_connections), has finished starting (57P03 cannot_connect_now), is back after a restart
# (57P01 admin_shutdown, 57P02 crash_shutdown), or once the competing transaction is gone (40001
# serialization_failure, 40P01 deadlock_detected, 57014 query_canceled, e.g. a statement timeout). Class 08 is
# connection_exception. See https://www.postgresql.org/docs/current/errcodes-appendix.html
UNAVAILABLE_SQLSTATES = frozenset({"53300", "57P01", "57P02", "57P03"})
RETRYABLE_SQLSTATES = UNAVAILABLE_SQLSTATES | {"40001", "40P01", "57014"}


_UNREACHABLE = (
    sa_exc.InterfaceError,
    sa_exc.TimeoutError,
    asyncpg.exceptions.InterfaceError,
    asyncpg.exceptions.PostgresConnectionError,
    OSError,
    TimeoutError,
)


def _chain(exc: BaseException) -> list[BaseException]:
    """The exception, the driver error SQLAlchemy wraps (``orig``) and their causes, without cycles."""
    seen: list[BaseException] = []
    todo: list[BaseException | None] = [exc]
    while todo:
        current = todo.pop()
        if current is None or any(current is s for s in seen):
            continue
        seen.append(current)
        todo.extend([getattr(current, "orig", None), current.__cause__, current.__context__])
    return seen


def sqlstate(exc: BaseException) -> str | None:
    """The PostgreSQL SQLSTATE behind ``exc`` (asyncpg's error or SQLAlchemy's wrapper of it), if any."""
    for e in _chain(exc):
        code = getattr(e, "sqlstate", None)
        if isinstance(code, str) and code:
            return code
    return None


def is_unavailable(exc: BaseException) -> bool:
    """The database cannot be reached or cannot take a connection now (a request gets 503 with Retry-After)."""
    code = sqlstate(exc)
    if code is not None and (code.startswith("08") or code in UNAVAILABLE_SQLSTATES):
        return True
    for e in _chain(exc):
        if isinstance(e, sa_exc.DBAPIError) and e.connection_invalidated:
            return True
        # InterfaceError: asyncpg's "connection is closed"; TimeoutError: the pool or the connect attempt timed out;
        # OSError: refused or reset connections, which asyncpg raises unwrapped while connecting.
        if isinstance(e, _UNREACHABLE):
            return True
    return False


def is_transient(exc: BaseException) -> bool:
    """A failure of the infrastructure, not of the work: the same work is retried later, never dead-lettered.

    SQLite's ``OperationalError`` (a locked database file) counts as transient too.
    """
    if is_unavailable(exc) or sqlstate(exc) in RETRYABLE_SQLSTATES:
        return True
    return any(isinstance(e, sa_exc.OperationalError) and sqlstate(e) is None for e in _chain(exc))


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


@asynccontextmanager
async def transaction(factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A session whose transaction commits when the block ends cleanly and rolls back otherwise."""
    async with factory() as session, session.begin():
        yield session


def insert_ignoring_conflicts(table: Table, dialect_name: str) -> Insert:
    """``INSERT … ON CONFLICT DO NOTHING`` in the dialect at hand (PostgreSQL and SQLite both support it)."""
    if dialect_name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    return sqlite.insert(table).on_conflict_do_nothing()


def upsert(table: Table, dialect_name: str) -> Any:
    """The dialect's ``insert`` construct, which offers ``on_conflict_do_update``."""
    return postgresql.insert(table) if dialect_name == "postgresql" else sqlite.insert(table)
