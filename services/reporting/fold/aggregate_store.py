"""The day aggregates' reads and writes (``fold.aggregates`` holds the rule): the facts a batch is about to replace,
the delta upsert in the fold's transaction, and the recount from the facts in SQL (the rebuild, the migration that
creates the table, the benchmark's generated data).

A key part the fact leaves empty is stored as '' (a primary key has no nulls, and a unique index would let two
nulls differ, so an upsert would never meet its row); ``reports.repository`` reads '' back as None.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import (
    Date,
    Executable,
    Integer,
    String,
    any_,
    bindparam,
    case,
    cast,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    text,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession

from libs.common.db import upsert
from services.reporting.fold.aggregates import (
    ALL_TIME,
    ANCHOR_TIMES,
    ANCHORS,
    COUNTERS,
    DAY,
    FLAG_INPUTS,
    HALF_MONTH,
    Counts,
    Key,
    half_months,
)
from services.reporting.fold.aggregates import delta as aggregate_delta
from services.reporting.fold.facts import DossierFact
from services.reporting.models import aggregate_t, fact_t
from services.reporting.reports.periods import VN_TZ
from services.reporting.reports.sql import count_if, flag_conditions

KEY_COLUMNS = ("span", "day", "anchor", "level", "agency_code", "sector_code", "sector_name", "procedure_code")
IN_CHUNK = 1000


def _dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


async def current_facts(session: AsyncSession, codes: Sequence[str]) -> list[DossierFact]:
    """The stored facts of ``codes`` (those that exist), with the fields their contributions depend on: what a batch
    takes off the aggregates before it adds what the refolded facts contribute. One statement on PostgreSQL."""
    if not codes:
        return []
    columns = [fact_t.c[name] for name in FLAG_INPUTS]
    if _dialect(session) == "postgresql":
        codes_param = bindparam("codes", list(codes), type_=postgresql.ARRAY(String()))
        result = await session.execute(select(*columns).where(fact_t.c.dossier_code == any_(codes_param)))
        return [DossierFact(**row._mapping) for row in result]
    out: list[DossierFact] = []
    for start in range(0, len(codes), IN_CHUNK):
        chunk = list(codes[start : start + IN_CHUNK])
        result = await session.execute(select(*columns).where(fact_t.c.dossier_code.in_(chunk)))
        out.extend(DossierFact(**row._mapping) for row in result)
    return out


def _stored(span: str, key: Key) -> tuple[Any, ...]:
    return (span, key[0], key[1], *(part or "" for part in key[2:]))


# Rows are written in key order, so two replicas folding batches that share day rows lock them in the same order
# and never wait on each other in a cycle; one statement per batch whatever its size.
_PG_UPSERT = text(
    f"INSERT INTO {aggregate_t.name} ({', '.join(KEY_COLUMNS + COUNTERS)}) "
    "SELECT * FROM unnest("
    + ", ".join(
        [f"CAST(:{c} AS {'date' if c == 'day' else 'text'}[])" for c in KEY_COLUMNS]
        + [f"CAST(:{c} AS int4[])" for c in COUNTERS]
    )
    + f") ON CONFLICT ({', '.join(KEY_COLUMNS)}) DO UPDATE SET "
    + ", ".join(f"{c} = {aggregate_t.name}.{c} + EXCLUDED.{c}" for c in COUNTERS)
)


async def add(session: AsyncSession, change: dict[Key, Counts]) -> None:
    """Add ``change`` (signed counts per day row) to the day aggregates."""
    if not change:
        return
    rows = sorted(
        [(_stored(DAY, key), counts) for key, counts in change.items()]
        + [(_stored(HALF_MONTH, key), counts) for key, counts in half_months(change).items()]
    )
    if _dialect(session) == "postgresql":
        params: dict[str, list[Any]] = {c: [key[i] for key, _ in rows] for i, c in enumerate(KEY_COLUMNS)}
        for c in COUNTERS:
            params[c] = [counts.get(c, 0) for _, counts in rows]
        await session.execute(_PG_UPSERT, params)
        return
    stmt = upsert(aggregate_t, _dialect(session))
    stmt = stmt.on_conflict_do_update(
        index_elements=list(KEY_COLUMNS), set_={c: aggregate_t.c[c] + stmt.excluded[c] for c in COUNTERS}
    )
    await session.execute(
        stmt,
        [{**dict(zip(KEY_COLUMNS, key, strict=True)), **dict.fromkeys(COUNTERS, 0), **counts} for key, counts in rows],
    )


async def replace_facts(session: AsyncSession, old: Iterable[DossierFact], new: Iterable[DossierFact]) -> None:
    """The fold's hook: facts ``old`` (as stored before the batch) became ``new``."""
    await add(session, aggregate_delta(old, new))


def _day(column: Any, dialect: str) -> Any:
    """The local day of an instant in SQL: the zone's rule on PostgreSQL, its fixed +7 h on SQLite (Vietnam has
    kept UTC+7 without daylight saving since 1975, so both agree with ``aggregates.local_day``)."""
    if dialect == "postgresql":
        return cast(func.timezone(VN_TZ.key, column), Date)
    return func.date(column, "+7 hours")


def _half_month_start(day: Any, dialect: str) -> Any:
    """SQL twin of ``aggregates.half_month_start``."""
    if dialect == "postgresql":
        dom = cast(func.extract("day", day), Integer)
        return day - case((dom < 15, dom - 1), else_=dom - 15)
    dom = cast(func.strftime("%d", day), Integer)
    back = case((dom < 15, dom - 1), else_=dom - 15)
    return func.date(day, literal("-") + cast(back, String) + literal(" days"))


def recount_statements(dialect: str) -> list[Executable]:
    """Statements that empty the day aggregates and count them again from the facts, one ``INSERT … SELECT … GROUP
    BY`` per anchor, with the SQL twins of the flags (``reports.sql.flag_conditions``) over all time."""
    t = fact_t
    conds = flag_conditions(ALL_TIME)
    statements: list[Executable] = [delete(aggregate_t)]
    for anchor, names in ANCHORS.items():
        desk = anchor == "desk_received"
        day = _day(t.c[ANCHOR_TIMES[anchor]], dialect)
        dims = [
            func.coalesce(t.c.receiving_level if desk else t.c.handling_level, ""),
            func.coalesce(t.c.receiving_agency_code if desk else t.c.handling_agency_code, ""),
            func.coalesce(t.c.sector_code, ""),
            func.coalesce(t.c.sector_name, ""),
            func.coalesce(t.c.procedure_code, ""),
        ]
        query = (
            select(literal(DAY), day, literal(anchor), *dims, *(count_if(conds[name]) for name in names))
            .where(
                t.c.received_at.is_not(None),
                t.c[ANCHOR_TIMES[anchor]].is_not(None),
                or_(*(conds[name] for name in names)),
            )
            .group_by(day, *dims)
            .order_by(day, *dims)
        )
        statements.append(insert(aggregate_t).from_select([*KEY_COLUMNS, *names], query))
    a = aggregate_t
    half = _half_month_start(a.c.day, dialect)
    keys: list[Any] = [a.c[c] for c in KEY_COLUMNS[2:]]
    rollup = (
        select(literal(HALF_MONTH), half, *keys, *(func.sum(a.c[c]) for c in COUNTERS))
        .where(a.c.span == DAY)
        .group_by(half, *keys)
        .order_by(half, *keys)  # a window's half-month rows on neighbouring pages, not one page each
    )
    statements.append(insert(aggregate_t).from_select([*KEY_COLUMNS, *COUNTERS], rollup))
    return statements


async def recount(session: AsyncSession) -> None:
    """Count the day aggregates again from the facts (after a refold, a bulk load, or to check them).

    On PostgreSQL the facts are locked against writes (SHARE) for the transaction: a fold batch committed before
    is in the count, one that waits applies its delta to the recounted rows after, so none is lost or counted
    twice."""
    dialect = _dialect(session)
    if dialect == "postgresql":
        await session.execute(text(f"LOCK TABLE {fact_t.name} IN SHARE MODE"))
    for statement in recount_statements(dialect):
        await session.execute(statement)
