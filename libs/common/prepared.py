"""Writes of a hot path sent straight to asyncpg, on the session's own connection and inside its transaction.

Through the ORM session each statement costs SQLAlchemy's execution path (a greenlet hop, the compiled-statement
cache key, parameter processing, a result object) and a round trip, whose socket write alone is a good part of a
request's CPU on a small machine. On PostgreSQL a path that writes one row into each of several tables can instead
send them as one statement (data-modifying CTEs: every part runs, in the same snapshot, or none does), prepared once
per connection by asyncpg. The SQL is built once from the tables' metadata and every value passes through its column
type's own bind processing, so what is stored is what a Core insert stores.

PostgreSQL only; SQLite (the single-node default) keeps the ordinary session statements.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Table, text
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import TypeEngine

_DIALECT = asyncpg_dialect()  # type: ignore[no-untyped-call]
_BEGIN = text("SELECT 1")


def is_postgresql(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


async def driver_connection(session: AsyncSession) -> Any:
    """The asyncpg connection under ``session``'s transaction, begun on the server: SQLAlchemy's asyncpg adapter sends
    BEGIN lazily, with the session's first statement, and a write sent before it would commit on its own."""
    conn = await session.connection()
    driver: Any = (await conn.get_raw_connection()).driver_connection
    if not driver.is_in_transaction():
        await conn.execute(_BEGIN)  # rare: every hot path reads something first
    return driver


class Prepared:
    """One statement with numbered parameters, written by the caller with :meth:`param` (or :meth:`insert`) and run
    on the session's transaction with the parameters' values by name."""

    def __init__(self) -> None:
        self.sql = ""
        self._params: list[tuple[str, Callable[[Any], Any] | None]] = []

    def param(self, name: str, type_: TypeEngine[Any]) -> str:
        """A parameter's placeholder; its value is converted as ``type_`` converts it for asyncpg."""
        self._params.append((name, type_.dialect_impl(_DIALECT).bind_processor(_DIALECT)))
        return f"${len(self._params)}"

    def insert(self, table: Table, columns: Sequence[str], *, prefix: str, sql: Mapping[str, str] | None = None) -> str:
        """``INSERT INTO table (columns) VALUES (…)``: each column a parameter named ``<prefix>.<column>``, or the SQL
        expression ``sql`` gives it."""
        quote = _DIALECT.identifier_preparer.quote
        computed = sql or {}
        values = [
            computed[name] if name in computed else self.param(f"{prefix}.{name}", table.c[name].type)
            for name in columns
        ]
        return f"INSERT INTO {quote(table.name)} ({', '.join(quote(n) for n in columns)}) VALUES ({', '.join(values)})"

    def arguments(self, values: Mapping[str, Any]) -> list[Any]:
        arguments = []
        for name, processor in self._params:
            value = values[name]
            arguments.append(value if processor is None or value is None else processor(value))
        return arguments

    async def fetchval(self, session: AsyncSession, values: Mapping[str, Any]) -> Any:
        """The first column of the first row the statement answers."""
        return await (await driver_connection(session)).fetchval(self.sql, *self.arguments(values))


def prefixed(prefix: str, row: Mapping[str, Any]) -> dict[str, Any]:
    """``row``'s values under the parameter names :meth:`Prepared.insert` gives them."""
    return {f"{prefix}.{name}": value for name, value in row.items()}
