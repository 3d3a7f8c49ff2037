"""Writes of a hot path sent straight to asyncpg, on the session's own connection and inside its transaction.

Through the ORM session each statement costs SQLAlchemy's execution path (a greenlet hop, the compiled-statement
cache key, parameter processing, a result object) and one round trip; on PostgreSQL a path that writes one row into
each of several tables can instead send them as one statement (data-modifying CTEs: every part runs, in the same
snapshot, or none does) prepared once per connection by asyncpg. The SQL is built once from the tables' metadata and
the values pass through each column type's own bind processing, so what is stored is what a Core insert stores.

PostgreSQL only; SQLite (the single-node default) keeps the ordinary session statements.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Table, text
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.ext.asyncio import AsyncSession

_DIALECT = asyncpg_dialect()  # type: ignore[no-untyped-call]


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


_BEGIN = text("SELECT 1")


class InsertRows:
    """One row into each of ``tables`` (the given columns of each), as one PostgreSQL statement: every insert but the
    last is a data-modifying CTE. ``run`` takes one mapping per table, keyed by column name; a column left out of a
    mapping is written as NULL (list it only where a value is always given)."""

    def __init__(self, *tables: tuple[Table, Sequence[str]]) -> None:
        quote = _DIALECT.identifier_preparer.quote
        parts: list[str] = []
        self._columns: list[tuple[int, str, Callable[[Any], Any] | None]] = []
        for index, (table, names) in enumerate(tables):
            placeholders = []
            for name in names:
                column = table.c[name]
                processor = column.type.dialect_impl(_DIALECT).bind_processor(_DIALECT)
                self._columns.append((index, name, processor))
                placeholders.append(f"${len(self._columns)}")
            parts.append(
                f"INSERT INTO {quote(table.name)} ({', '.join(quote(n) for n in names)})"
                f" VALUES ({', '.join(placeholders)})"
            )
        ctes = ", ".join(f"w{i} AS ({part})" for i, part in enumerate(parts[:-1]))
        self.sql = f"WITH {ctes} {parts[-1]}" if ctes else parts[-1]
        self._tables = len(tables)

    def arguments(self, rows: Sequence[Mapping[str, Any]]) -> list[Any]:
        if len(rows) != self._tables:
            raise ValueError(f"one row per table: {self._tables} expected, {len(rows)} given")
        values = []
        for index, name, processor in self._columns:
            value = rows[index].get(name)
            values.append(value if processor is None or value is None else processor(value))
        return values

    async def run(self, session: AsyncSession, rows: Sequence[Mapping[str, Any]]) -> None:
        await (await driver_connection(session)).execute(self.sql, *self.arguments(rows))


class Fetch:
    """A Core statement compiled once for asyncpg and run on the session's transaction, answering its first column
    of its first row (an upsert's ``RETURNING``). Parameters are given by their bind names."""

    def __init__(self, statement: Any) -> None:
        compiled = statement.compile(dialect=_DIALECT)
        self.sql = compiled.string
        # a literal of the statement (``last=1``) is a bind parameter too, with its value as the default
        self._binds: list[tuple[str, Any, Callable[[Any], Any] | None]] = [
            (name, bind.effective_value, bind.type.dialect_impl(_DIALECT).bind_processor(_DIALECT))
            for name in compiled.positiontup or ()
            for bind in (compiled.binds[name],)
        ]

    async def value(self, session: AsyncSession, params: Mapping[str, Any]) -> Any:
        values = []
        for name, default, processor in self._binds:
            value = params.get(name, default)
            values.append(value if processor is None or value is None else processor(value))
        return await (await driver_connection(session)).fetchval(self.sql, *values)
